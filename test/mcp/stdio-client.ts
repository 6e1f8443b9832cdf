/** `airlock mcp` started the way an MCP client starts it, and a person deciding from the CLI. */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { expect } from 'vitest';
import { runCli } from '../support/cli.ts';

const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));

export interface Connection {
  readonly client: Client;
  readonly transport: StdioClientTransport;
  stderr(): string;
}

export async function connect(home: string): Promise<Connection> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [bin, 'mcp'],
    cwd: home,
    env: { HOME: home, AIRLOCK_HOME: home, NO_COLOR: '1' },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'airlock-test', version: '0.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

/** `airlock approvals <decision> <id>` as the person at the terminal would type it. */
export async function decide(home: string, decision: 'approve' | 'deny', approvalId: string): Promise<void> {
  const env = { HOME: home, AIRLOCK_HOME: home };
  const done = await runCli(['approvals', decision, approvalId], { cwd: home, env });
  expect(done.stderr).toBe('');
  expect(done.exitCode).toBe(0);
}
