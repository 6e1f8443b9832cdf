/**
 * Telling the model the rules up front: the tool schemas a client lists state each default and
 * maximum (from this control plane's configuration, not hard-coded), and session_info lists what will
 * ask in the session. The MCP server over the SDK's in-memory transport, on the in-memory driver.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';
import { createAirlockMcpServer, lazySession } from '../mcp/index.ts';

async function connected(config: Record<string, unknown> = {}) {
  const { airlock } = await openMemoryAirlock({ config });
  const mcp = createAirlockMcpServer({ airlock, session: lazySession(airlock) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'limits-test', version: '0' });
  await client.connect(clientSide);
  const { tools } = await client.listTools();
  const tool = (name: string) => {
    const found = tools.find((candidate) => candidate.name === name);
    if (found === undefined) throw new Error(`no tool ${name}`);
    return found;
  };
  /** One input property's JSON Schema. */
  const input = (name: string, property: string) =>
    (tool(name).inputSchema.properties as Record<string, Record<string, unknown>>)[property] ?? {};
  return { airlock, client, tool, input, close: () => mcp.close() };
}

describe('tool schemas state defaults and maxima', () => {
  it('with the default configuration: timeout 30 s / 10 min, approval wait 15 s, pages, the rate limit', async () => {
    const { input, tool, close } = await connected();
    expect(input('run_command', 'timeout_s')).toMatchObject({ maximum: 600 });
    expect(input('run_command', 'timeout_s')['description']).toMatch(/default 30, at most 600/);
    expect(input('run_command', 'approval_wait_s')).toMatchObject({ maximum: 300 });
    expect(input('run_command', 'approval_wait_s')['description']).toMatch(/default 15, at most 300/);
    expect(input('write_file', 'approval_wait_s')['description']).toMatch(/default 15, at most 300/);
    expect(input('command_status', 'wait_s')).toMatchObject({ maximum: 300 });
    expect(input('read_output', 'limit')).toMatchObject({ maximum: 100_000 });
    expect(input('read_output', 'limit')['description']).toMatch(/default \d+, at most 100000/);
    expect(input('read_file', 'limit')).toMatchObject({ maximum: 100_000 });
    expect(input('read_file', 'limit')['description']).toMatch(/default \d+/);
    const run = tool('run_command').description ?? '';
    expect(run).toContain('A session may run 60 commands in a burst, then 30 a minute');
    expect(run).toContain('HOME is /tmp/home, outside the project');
    await close();
  });

  it("follow this control plane's configuration", async () => {
    const { input, tool, close } = await connected({
      sandbox: { timeout: '10s', maxTimeout: '2m' },
      router: { approvalWait: '5s', approvalTimeout: '1m', rateLimit: { rate: '10/min', burst: 20 } },
    });
    expect(input('run_command', 'timeout_s')).toMatchObject({ maximum: 120 });
    expect(input('run_command', 'timeout_s')['description']).toMatch(/default 10, at most 120/);
    expect(input('run_command', 'approval_wait_s')).toMatchObject({ maximum: 60 });
    expect(input('run_command', 'approval_wait_s')['description']).toMatch(/default 5, at most 60/);
    expect(tool('run_command').description).toContain(
      'A session may run 20 commands in a burst, then 10 a minute',
    );
    await close();
  });

  it('a model that asks for more than the maximum is refused before anything runs (adversarial)', async () => {
    const { airlock, client, close } = await connected();
    const result = (await client.callTool({
      name: 'run_command',
      arguments: { command: 'echo ran', timeout_s: 3600 },
    })) as CallToolResult;
    expect(result.isError).toBe(true);
    expect(JSON.stringify(result.content)).toMatch(/timeout_s/);
    expect(await airlock.audit.list({ types: ['command.proposed'] })).toEqual([]);
    await close();
  });
});

describe('session_info lists what will ask in this session', () => {
  it('the network, secrets, approvalRequiredFor, the wait and the protected paths', async () => {
    const { client, close } = await connected({ router: { approvalRequiredFor: ['pip install'] } });
    const result = (await client.callTool({ name: 'session_info', arguments: {} })) as CallToolResult;
    const text = (result.content as Array<{ text: string }>).map((part) => part.text).join('\n');
    // The default network: ask mode, nothing listed yet, through the session's egress proxy.
    expect(text).toMatch(
      /network: through the egress proxy at http:\/\/127\.0\.0\.1:3128 .*allowed: no hosts yet; a connection to another host waits for a person/,
    );
    expect(text).toContain('secrets given to this session: none');
    expect(text).toContain('a person approves pip install (router.approvalRequiredFor)');
    expect(text).toMatch(/a call waits 15s for a person, then answers pending_approval/);
    expect(text).toContain('HOME: /tmp/home (outside /workspace)');
    const facts = result.structuredContent as { boundary: Record<string, unknown> };
    expect(facts.boundary).toMatchObject({
      network: { mode: 'ask', allow: [] },
      approvalRequiredFor: ['pip install'],
      approvalWaitMs: 15_000,
      home: '/tmp/home',
      granted: { commands: 0, programs: [], hosts: [] },
    });
    const paths = facts.boundary['protectedPaths'] as { secrets: string[]; inherited: string[] };
    expect(paths.secrets.length).toBeGreaterThan(0);
    expect(paths.inherited.some((pattern) => pattern.includes('.github'))).toBe(true);
    await close();
  });
});
