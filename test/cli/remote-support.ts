/**
 * For `--url` tests: a real server whose router asks a person before `touch`, the CLI run in-process as
 * the user of the server's state directory (where its admin-token file is), and small stand-ins for a
 * server that is not Airlock.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect } from 'vitest';
import { startTestServer } from '../api/support.ts';
import type { TestServer } from '../api/support.ts';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { envFor } from './cli-process.ts';

const fakes: Server[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) {
    // A fake that stalls on purpose holds its connections open; close() alone would wait for them.
    fake.closeAllConnections();
    await new Promise((resolve) => fake.close(resolve));
  }
});

/** `airlock …` in this process, as the user whose state directory is `home`. */
export function airlock(
  args: string[],
  home: string,
  options: { env?: Record<string, string>; stdin?: string; closeOutputAfterFirstWrite?: boolean } = {},
): Promise<CliRun> {
  return runCli(args, {
    cwd: home,
    env: { ...envFor(home), ...options.env },
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    ...(options.closeOutputAfterFirstWrite ? { closeOutputAfterFirstWrite: true } : {}),
  });
}

/** A server whose policy asks a person before `touch`. */
export function startApprovingServer(): Promise<TestServer> {
  return startTestServer({ airlock: { config: { router: { approvalRequiredFor: ['touch'] } } } });
}

/** A session in the server with `touch x` waiting for a person. */
export async function pendingCommand(server: TestServer) {
  const session = await server.airlock.sessions.create();
  const pending = await session.run('touch x', { waitForApproval: false });
  expect(pending.status).toBe('pending_approval');
  const approvalId = pending.approvalId ?? '';
  expect(approvalId).toMatch(/^apr_/);
  return { session, commandId: pending.id, approvalId };
}

/** An HTTP server on 127.0.0.1 answering with `handler`, closed after the test; records request paths. */
export async function startFakeServer(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
  host = '127.0.0.1',
): Promise<{ url: string; requests: string[] }> {
  const requests: string[] = [];
  const server = createServer((request, response) => {
    requests.push(`${request.method} ${request.url}`);
    handler(request, response);
  });
  fakes.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, requests };
}

/** A loopback port nothing listens on: taken, then given back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trimEnd()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Exactly one line on stderr: what a script logs and a person reads. */
export function oneLineOf(run: CliRun): string {
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines, run.stderr).toHaveLength(1);
  return lines[0] ?? '';
}
