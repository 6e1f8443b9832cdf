/**
 * `--url` when the server misbehaves: stalls, breaks an export off, restarts or rate-limits. Ctrl-C
 * must stop a command at once with 130, a broken export must not pass for a whole one, and a watch
 * must outlast a brief outage. The servers here are stand-ins that misbehave on purpose.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { CliRun } from '../support/cli.ts';
import { newHome, startCli } from './cli-process.ts';
import type { CliProcess } from './cli-process.ts';
import { airlock, jsonLines, oneLineOf, startFakeServer } from './remote-support.ts';

const TOKEN = { AIRLOCK_TOKEN: 'alk_admin_test-token' };

/** Well above a CLI's reaction to Ctrl-C, well below the SDK's 60 s default timeout. */
const PROMPT_EXIT_MS = 5000;

const running: CliProcess[] = [];
afterEach(() => {
  for (const cli of running.splice(0)) cli.child.kill('SIGKILL');
});

function start(args: string[], home: string): CliProcess {
  const cli = startCli(args, home, '', TOKEN);
  running.push(cli);
  return cli;
}

/** Resolves once `check` holds, or rejects after the timeout with `what`. */
async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The run, or 'still running' when it has not ended within `ms`. */
function exitWithin(cli: CliProcess, ms: number): Promise<CliRun | 'still running'> {
  return Promise.race([
    cli.exited,
    new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), ms).unref()),
  ]);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function auditEvent(seq: number): Record<string, unknown> {
  return {
    seq,
    at: '2025-01-01T00:00:00.000Z',
    type: 'session.created',
    sessionId: 'ses_1',
    commandId: null,
    data: {},
    prevHash: 'a'.repeat(64),
    hash: 'b'.repeat(64),
  };
}

describe('--url: Ctrl-C stops a command waiting on a stalled server, exiting 130', () => {
  it('audit export, with the server stalled mid-stream', async () => {
    const fake = await startFakeServer((_request, response) => {
      // The status line and one event, then nothing: neither more lines nor the end.
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify(auditEvent(1))}\n`);
    });
    const cli = start(['audit', 'export', '--url', fake.url], newHome());
    await cli.waitForOutput(/"seq":1/);
    cli.child.kill('SIGINT');
    const run = await exitWithin(cli, PROMPT_EXIT_MS);
    expect(run).toMatchObject({ exitCode: 130, stderr: '' });
    expect(jsonLines(cli.stdout()).map((event) => event['seq'])).toEqual([1]);
  });

  it('audit tail --follow, with the server stalled on a poll', async () => {
    const fake = await startFakeServer((request, response) => {
      // Finding the head reads one event at a time; the follow loop's page read never answers.
      if (new URL(request.url ?? '/', 'http://x').searchParams.get('limit') === '1') {
        sendJson(response, 200, { events: [] });
      }
    });
    const cli = start(['audit', 'tail', '--follow', '--url', fake.url], newHome());
    await until(() => fake.requests.some((line) => line.includes('limit=1000')), 'the follow poll');
    cli.child.kill('SIGINT');
    expect(await exitWithin(cli, PROMPT_EXIT_MS)).toMatchObject({ exitCode: 130, stderr: '' });
  });

  it('approvals watch, with the server not answering', async () => {
    const fake = await startFakeServer(() => undefined);
    const cli = start(['approvals', 'watch', '--url', fake.url], newHome());
    await until(() => fake.requests.length > 0, 'the first poll');
    cli.child.kill('SIGINT');
    const run = await exitWithin(cli, PROMPT_EXIT_MS);
    expect(run).toMatchObject({ exitCode: 130 });
    expect(cli.stderr()).not.toMatch(/did not answer|cannot reach/);
  });

  it('approvals watch, while it waits to ask a failing server again', async () => {
    const fake = await startFakeServer((_request, response) =>
      sendJson(response, 503, { error: { code: 'SERVER_STOPPING', message: 'the server is shutting down' } }),
    );
    const cli = start(['approvals', 'watch', '--url', fake.url], newHome());
    // The second pause is 2 s: an exit well before it ends is Ctrl-C's doing.
    await until(() => cli.stderr().includes('asking again in 2s'), 'the second retry');
    const interruptedAt = Date.now();
    cli.child.kill('SIGINT');
    expect(await exitWithin(cli, PROMPT_EXIT_MS)).toMatchObject({ exitCode: 130 });
    expect(Date.now() - interruptedAt).toBeLessThan(1500);
  });
});

describe('--url: an audit export the server breaks off', () => {
  it('says the export is incomplete after the lines it printed, and exits 125', async () => {
    const fake = await startFakeServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/x-ndjson' });
      response.write(`${JSON.stringify(auditEvent(7))}\n${JSON.stringify(auditEvent(8))}\n`);
      // How the server says "incomplete": the chunked body ends without its terminator.
      setTimeout(() => response.destroy(), 50);
    });
    const result = await airlock(['audit', 'export', '--url', fake.url], newHome(), { env: TOKEN });
    expect(result.exitCode).toBe(125);
    expect(jsonLines(result.stdout).map((event) => event['seq'])).toEqual([7, 8]);
    const line = oneLineOf(result);
    expect(line).toMatch(/^airlock: the export broke off after 2 events; it is incomplete /);
    expect(line).toContain('--since 8 continues after the last event written');
    expect(line).not.toMatch(/cannot reach|is `airlock serve` running/);
  });
});

describe('--url: approvals watch outlasts a brief outage', () => {
  it('asks again after SERVER_STOPPING (a restart) instead of ending with 125', async () => {
    let polls = 0;
    const fake = await startFakeServer((_request, response) => {
      polls++;
      if (polls === 1) {
        sendJson(response, 503, {
          error: { code: 'SERVER_STOPPING', message: 'the server is shutting down' },
        });
      } else {
        sendJson(response, 200, { approvals: [] });
      }
    });
    // --interactive with an empty stdin: the watch ends (0) after its first successful poll.
    const result = await airlock(['approvals', 'watch', '--interactive', '--url', fake.url], newHome(), {
      env: TOKEN,
      stdin: '',
    });
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toMatch(
      /warning: the server is shutting down; asking again in 1s \(Ctrl-C stops\)/,
    );
    expect(fake.requests).toEqual(['GET /v1/approvals?status=pending', 'GET /v1/approvals?status=pending']);
  });

  it('follows a rate limit the same way, and does not retry a refused token (it would fail again)', async () => {
    let polls = 0;
    const limited = await startFakeServer((_request, response) => {
      polls++;
      if (polls === 1) {
        sendJson(response, 429, {
          error: { code: 'RATE_LIMITED', message: 'too many requests', details: { retryAfterMs: 500 } },
        });
      } else {
        sendJson(response, 200, { approvals: [] });
      }
    });
    const args = ['approvals', 'watch', '--interactive', '--url'];
    const retried = await airlock([...args, limited.url], newHome(), { env: TOKEN, stdin: '' });
    expect(retried.exitCode).toBe(0);
    expect(limited.requests).toHaveLength(2);

    const refusing = await startFakeServer((_request, response) =>
      sendJson(response, 401, { error: { code: 'UNAUTHENTICATED', message: 'unknown token' } }),
    );
    const refused = await airlock([...args, refusing.url], newHome(), { env: TOKEN, stdin: '' });
    expect(refused.exitCode).toBe(125);
    expect(refusing.requests).toHaveLength(1);
  });
});

describe('--url: sessions ls', () => {
  it('asks the server for the newest 100 instead of taking its default page', async () => {
    const fake = await startFakeServer((_request, response) => sendJson(response, 200, { sessions: [] }));
    const result = await airlock(['sessions', 'ls', '--state', 'active', '--url', fake.url], newHome(), {
      env: TOKEN,
    });
    expect(result.exitCode).toBe(0);
    expect(fake.requests).toEqual(['GET /v1/sessions?state=active&limit=100']);
  });
});
