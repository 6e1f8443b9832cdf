/**
 * The routes people watch agents with, over real sockets: every session's commands (paged, searched,
 * scoped for a session token), usage history, an approval in context, the live audit stream, and the
 * dashboard's files with their Content-Security-Policy. Sandboxes are the in-memory test double.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readSseEvents } from '../../src/sdk/index.ts';
import { DASHBOARD_CSP } from '../../src/server/index.ts';
import { createdSession, runResult } from '../../src/server/schemas.ts';
import { approvalContext, commandList, usageList } from '../../src/server/watch-schemas.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { call, errorCode, startTestServer } from './support.ts';
import type { TestServer } from './support.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function memoryServer(
  options: { config?: Record<string, unknown>; dashboardDir?: string; monitorIntervalMs?: number } = {},
): Promise<TestServer> {
  return startTestServer({
    airlock: {
      drivers: { bwrap: createMemoryDriver() },
      config: options.config ?? { router: { approvalRequiredFor: ['touch'] } },
      ...(options.monitorIntervalMs === undefined ? {} : { monitorIntervalMs: options.monitorIntervalMs }),
    },
    ...(options.dashboardDir === undefined ? {} : { server: { dashboardDir: options.dashboardDir } }),
  });
}

async function newSession(server: TestServer): Promise<{ id: string; token: string }> {
  const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
  return createdSession.parse(created.body);
}

async function run(server: TestServer, session: { id: string; token: string }, command: string, wait = true) {
  const ran = await call(`${server.url}/v1/sessions/${session.id}/commands`, session.token, {
    method: 'POST',
    body: { command, wait },
  });
  return runResult.parse(ran.body);
}

describe('routes for people watching agents', () => {
  it("pages every session's commands newest first, searches them, and keeps a session token to its own", async () => {
    const server = await memoryServer();
    const one = await newSession(server);
    const two = await newSession(server);
    for (let index = 0; index < 5; index++) await run(server, one, `echo one ${index}`);
    await run(server, two, 'echo two needle');

    const first = commandList.parse(
      (await call(`${server.url}/v1/commands?limit=4`, server.adminToken)).body,
    );
    expect(first.commands.map((command) => command.command)).toEqual([
      'echo two needle',
      'echo one 4',
      'echo one 3',
      'echo one 2',
    ]);
    expect(first.next).toBe(first.commands[3]?.id);
    const rest = commandList.parse(
      (await call(`${server.url}/v1/commands?limit=4&before=${first.next ?? ''}`, server.adminToken)).body,
    );
    expect(rest).toMatchObject({ next: null });
    expect(rest.commands.map((command) => command.command)).toEqual(['echo one 1', 'echo one 0']);
    const found = commandList.parse(
      (await call(`${server.url}/v1/commands?q=NEEDLE`, server.adminToken)).body,
    );
    expect(found.commands.map((command) => command.sessionId)).toEqual([two.id]);
    const completed = commandList.parse(
      (await call(`${server.url}/v1/commands?state=completed,failed&sessionId=${two.id}`, server.adminToken))
        .body,
    );
    expect(completed.commands).toHaveLength(1);

    // A session token sees its own session's commands, and another session's id is unknown to it.
    const own = commandList.parse((await call(`${server.url}/v1/commands`, two.token)).body);
    expect(own.commands.map((command) => command.sessionId)).toEqual([two.id]);
    const other = await call(`${server.url}/v1/commands?sessionId=${one.id}`, two.token);
    expect(other.status).toBe(404);
    expect(errorCode((await call(`${server.url}/v1/commands?state=bogus`, server.adminToken)).body)).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('answers usage history per live session for charts', async () => {
    const server = await memoryServer({ monitorIntervalMs: 50 });
    const session = await newSession(server);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const usage = usageList.parse((await call(`${server.url}/v1/usage`, server.adminToken)).body);
    const mine = usage.sessions.find((entry) => entry.sessionId === session.id);
    expect(mine?.samples.length).toBeGreaterThan(1);
    expect(Date.parse(mine?.samples[0]?.at ?? '')).toBeGreaterThan(Date.now() - 60_000);
    const own = usageList.parse((await call(`${server.url}/v1/usage`, session.token)).body);
    expect(own.sessions.map((entry) => entry.sessionId)).toEqual([session.id]);
  });

  it('shows an approval with its command, the recorded decision, how the policy reads it and what came before', async () => {
    const server = await memoryServer();
    const session = await newSession(server);
    await run(server, session, 'echo getting ready');
    const pending = await run(server, session, 'touch /workspace/release && echo done', false);
    expect(pending.status).toBe('pending_approval');
    const context = approvalContext.parse(
      (await call(`${server.url}/v1/approvals/${pending.approvalId ?? ''}/context`, server.adminToken)).body,
    );
    expect(context.command).toMatchObject({
      id: pending.id,
      command: 'touch /workspace/release && echo done',
    });
    expect(context.decision?.reasons.join(' ')).toMatch(/touch/);
    expect(context.analysis?.commands.map((part) => part.command)).toEqual([
      'touch /workspace/release',
      'echo done',
    ]);
    expect(context.analysis?.commands[0]?.effects.length).toBeGreaterThan(0);
    expect(context.recent.map((command) => command.command)).toEqual([
      'touch /workspace/release && echo done',
      'echo getting ready',
    ]);
  });

  it('streams the audit log live: what is there after afterSeq, then each new event', async () => {
    const server = await memoryServer();
    const before = await server.airlock.audit.list({});
    const controller = new AbortController();
    const response = await fetch(`${server.url}/v1/audit/stream?afterSeq=${before.at(-1)?.seq ?? 0}`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
      signal: controller.signal,
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = readSseEvents(
      response.body as ReadableStream<Uint8Array>,
      controller.signal,
      'audit',
      200,
    );
    const session = await newSession(server);
    const first = await events.next();
    expect(first.value).toMatchObject({ event: 'audit' });
    expect(JSON.parse((first.value as { data: string }).data)).toMatchObject({
      type: 'session.created',
      sessionId: session.id,
    });
    controller.abort();
  });

  it('serves the built dashboard at / with a strict Content-Security-Policy, and nothing outside the build', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-dashboard-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/app-1.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'app-1.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(dir, 'secret.txt'), 'not served: not a known file type');
    const server = await memoryServer({ dashboardDir: dir });

    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toContain("script-src 'self'");
    expect(DASHBOARD_CSP).not.toMatch(/unsafe-inline|unsafe-eval/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    const script = await fetch(`${server.url}/assets/app-1.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(script.headers.get('content-type')).toContain('text/javascript');
    expect(script.headers.get('cache-control')).toContain('immutable');
    expect((await script.text()).length).toBeGreaterThan(4000);
    for (const path of [
      '/secret.txt',
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/..%2fsecret.txt',
    ]) {
      expect({ path, status: (await fetch(`${server.url}${path}`)).status }).toEqual({ path, status: 404 });
    }
  });

  it('leaves / unserved with server.dashboard: false, and says how to build when there is no build', async () => {
    const off = await memoryServer({ config: { server: { dashboard: false } } });
    expect((await fetch(`${off.url}/`)).status).toBe(404);
    const dir = mkdtempSync(join(tmpdir(), 'airlock-dashboard-'));
    dirs.push(dir);
    const unbuilt = await memoryServer({ dashboardDir: dir });
    const answer = await fetch(`${unbuilt.url}/`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain('npm run build:web');
  });
});
