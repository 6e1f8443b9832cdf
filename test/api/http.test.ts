/**
 * The HTTP API end to end over real sockets: a real server on 127.0.0.1, real SQLite, real bwrap.
 * Abuse cases each expect a 4xx with a stable code, and the server still healthy afterwards.
 */
import { describe, expect, it } from 'vitest';
import { eventually } from '../control-plane/support.ts';
import { hostProcessesMatching } from '../containment/containment-suite.ts';
import { MAX_COMMAND_CHARS } from '../../src/router/index.ts';
import type { RunResult } from '../../src/router/index.ts';
import {
  approvalRecord,
  createdSession,
  outputPage,
  runResult,
  sessionInfo,
} from '../../src/server/schemas.ts';
import { auditEvent } from '../../src/server/audit-schemas.ts';
import { call, errorCode, startTestServer } from './support.ts';
import type { TestServer } from './support.ts';

const noApprovals = { config: { router: { approvalRequiredFor: [] } } };

async function newSession(
  server: TestServer,
  body: Record<string, unknown> = {},
): Promise<{ id: string; token: string; url: string }> {
  const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body });
  expect(created.status).toBe(201);
  const session = createdSession.parse(created.body);
  return { id: session.id, token: session.token, url: `${server.url}/v1/sessions/${session.id}` };
}

/** Starts a command without waiting for it (`wait: false`): its result so far, running or pending. */
async function startCommand(session: { token: string; url: string }, command: string): Promise<RunResult> {
  const started = await call(`${session.url}/commands`, session.token, {
    method: 'POST',
    body: { command, wait: false },
  });
  return runResult.parse(started.body);
}

async function expectHealthy(server: TestServer): Promise<void> {
  const health = await call(`${server.url}/healthz`, null);
  expect(health.status).toBe(200);
  expect(health.body).toMatchObject({ status: 'ok' });
}

describe('the HTTP API', () => {
  it('runs a command with a session token and answers in the documented shape', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    expect(session.token).toMatch(/^alk_sess_/);
    const ran = await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'echo hi' },
    });
    expect(ran.status).toBe(200);
    const result = runResult.parse(ran.body);
    expect(result).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'hi\n', sessionId: session.id });
    const again = await call(`${session.url}/commands/${result.id}`, session.token);
    expect(runResult.parse(again.body).stdout).toBe('hi\n');
    const info = await call(session.url, session.token);
    expect(sessionInfo.parse(info.body)).toMatchObject({
      id: session.id,
      state: 'active',
      driver: 'bwrap',
      // What keeps commands from the supervisor's channel, as the sandbox reported it.
      isolation: { isolation: 'bwrap', processes: { supervisorIsPid1: true, separateUid: false } },
    });
  });

  it('answers a denied command as a result with the reason, not an error', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const denied = await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'rm -rf /' },
    });
    expect(denied.status).toBe(200);
    const result = runResult.parse(denied.body);
    expect(result.status).toBe('denied');
    expect(result.forModel).toMatch(/deletes/);
    expect(result.ruleIds.length).toBeGreaterThan(0);
  });

  it('describes every route in /v1/openapi.json', async () => {
    const server = await startTestServer();
    const described = await call(`${server.url}/v1/openapi.json`, null);
    expect(described.status).toBe(200);
    const document = described.body as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/v1/sessions',
        '/v1/sessions/{id}',
        '/v1/sessions/{id}/commands',
        '/v1/sessions/{id}/commands/{commandId}',
        '/v1/sessions/{id}/commands/{commandId}/events',
        '/v1/outputs/{outputId}',
        '/v1/sessions/{id}/files',
        '/v1/sessions/{id}/files/list',
        '/v1/approvals',
        '/v1/approvals/{approvalId}',
        '/v1/audit',
        '/healthz',
        '/metrics',
      ]),
    );
    const run = document.paths['/v1/sessions/{id}/commands']?.['post'] as {
      requestBody: { content: { 'application/json': { schema: { properties: Record<string, unknown> } } } };
    };
    expect(Object.keys(run.requestBody.content['application/json'].schema.properties)).toEqual([
      'command',
      'timeoutMs',
      'wait',
      'cwd',
      'env',
      'stdin',
      'stdinBase64',
      'interactive',
      'approvalWaitMs',
    ]);
    expect(document.paths['/v1/sessions/{id}']).toHaveProperty('patch');
    expect(document.paths['/v1/sessions/{id}/commands']).toHaveProperty('get');
  });

  it('pages a truncated output back exactly, and only for its own session', async () => {
    const server = await startTestServer({ airlock: { config: { router: { output: { maxChars: 500 } } } } });
    const session = await newSession(server);
    const other = await newSession(server);
    const ran = runResult.parse(
      (
        await call(`${session.url}/commands`, session.token, {
          method: 'POST',
          body: { command: 'seq 1 3000' },
        })
      ).body,
    );
    expect(ran.truncated).toBe(true);
    expect(ran.outputId).not.toBeNull();
    let text = '';
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await call(
        `${server.url}/v1/outputs/${ran.outputId}?offset=${offset}&limit=4000`,
        session.token,
      );
      expect(page.status).toBe(200);
      const parsed = outputPage.parse(page.body);
      text += parsed.text;
      offset = parsed.nextOffset;
    }
    const expected = Array.from({ length: 3000 }, (_, index) => `${index + 1}\n`).join('');
    expect(text).toBe(expected);
    const foreign = await call(`${server.url}/v1/outputs/${ran.outputId}`, other.token);
    expect(foreign.status).toBe(404);
    expect(errorCode(foreign.body)).toBe('NOT_FOUND');
  });

  it('copies files in and out, and refuses paths that leave the sandbox', async () => {
    const server = await startTestServer({ airlock: noApprovals });
    // Permissive, so the agent can plant a symlink out of the workspace without a person's approval.
    const session = await newSession(server, { policy: 'permissive' });
    const bytes = new Uint8Array([0, 1, 2, 255, 10, 65]);
    const put = await fetch(`${session.url}/files?path=/workspace/data.bin`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toMatchObject({ status: 'completed', bytes: 6 });
    const got = await fetch(`${session.url}/files?path=/workspace/data.bin`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    expect(got.headers.get('content-type')).toBe('application/octet-stream');
    expect(new Uint8Array(await got.arrayBuffer())).toEqual(bytes);
    const listed = await call(`${session.url}/files/list?path=/workspace`, session.token);
    expect(listed.body).toMatchObject({ entries: [{ name: 'data.bin', kind: 'file', sizeBytes: 6 }] });

    const dotdot = await call(`${session.url}/files?path=/workspace/../etc/passwd`, session.token);
    expect(dotdot.status).toBe(400);
    expect(errorCode(dotdot.body)).toBe('PATH_OUTSIDE_SANDBOX');

    await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'ln -s /etc /workspace/etc' },
    });
    const planted = await call(`${session.url}/files?path=/workspace/etc/passwd`, session.token);
    expect(planted.status).toBe(400);
    expect(errorCode(planted.body)).toBe('PATH_OUTSIDE_SANDBOX');
    const overwrite = await fetch(`${session.url}/files?path=/workspace/etc/hostname`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/octet-stream' },
      body: 'x',
    });
    expect(overwrite.status).toBe(400);
    expect(errorCode(await overwrite.json())).toBe('PATH_OUTSIDE_SANDBOX');
    await expectHealthy(server);
  });

  it('redacts a session secret from a file copied out, as from any output', async () => {
    const server = await startTestServer({ airlock: noApprovals });
    const secret = 'sk-test-7f3a9c2e4b6d8f1a';
    // Permissive: the policy would refuse to read $API_KEY; this is about the layer behind it.
    const session = await newSession(server, { secretEnv: { API_KEY: secret }, policy: 'permissive' });
    const ran = await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'printf "key=%s\\n" "$API_KEY" > /workspace/leak.txt' },
    });
    expect(runResult.parse(ran.body).status).toBe('completed');
    const got = await fetch(`${session.url}/files?path=/workspace/leak.txt`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    const text = await got.text();
    expect(text).toMatch(/^key=\S+\n$/);
    expect(text).not.toContain(secret);
  });

  it('lets a person approve from a second client while the agent waits, and keeps deciding admin-only', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    // Editing a build file a person inherits on copy-back asks; everything else here runs unasked.
    const pending = await startCommand(session, 'touch package.json && ls /');
    expect(pending.status).toBe('pending_approval');
    expect(pending.approvalId).not.toBeNull();

    const bySession = await call(`${server.url}/v1/approvals/${pending.approvalId}`, session.token, {
      method: 'POST',
      body: { decision: 'approve' },
    });
    expect(bySession.status).toBe(403);
    expect(errorCode(bySession.body)).toBe('FORBIDDEN');

    const listed = await call(`${server.url}/v1/approvals?status=pending`, server.adminToken);
    expect(
      (listed.body as { approvals: unknown[] }).approvals.map((entry) => approvalRecord.parse(entry).id),
    ).toEqual([pending.approvalId]);
    const decided = await call(`${server.url}/v1/approvals/${pending.approvalId}`, server.adminToken, {
      method: 'POST',
      body: { decision: 'approve', reason: 'looked fine' },
    });
    expect(decided.status).toBe(200);
    expect(approvalRecord.parse(decided.body)).toMatchObject({
      status: 'approved',
      decisionReason: 'looked fine',
    });
    expect(approvalRecord.parse(decided.body).decidedBy).toMatch(/^api:admin:/);

    const twice = await call(`${server.url}/v1/approvals/${pending.approvalId}`, server.adminToken, {
      method: 'POST',
      body: { decision: 'deny' },
    });
    expect(twice.status).toBe(409);
    expect(errorCode(twice.body)).toBe('APPROVAL_CLOSED');

    let final = pending;
    expect(
      await eventually(async () => {
        final = runResult.parse((await call(`${session.url}/commands/${pending.id}`, session.token)).body);
        return final.status === 'completed';
      }),
    ).toBe(true);
    expect(final.stdout).toMatch(/\bproc\b/);
  });

  it('streams a running command as events, then its final status', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const started = await startCommand(session, 'for i in 1 2 3; do echo line$i; sleep 0.3; done');
    expect(started.status).toBe('running');
    const response = await fetch(`${session.url}/commands/${started.id}/events`, {
      headers: { authorization: `Bearer ${session.token}` },
    });
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = text
      .split('\n\n')
      .filter((block) => block.startsWith('event:'))
      .map((block) => {
        const [eventLine = '', dataLine = ''] = block.split('\n');
        return {
          event: eventLine.slice('event: '.length),
          data: JSON.parse(dataLine.slice('data: '.length)),
        };
      });
    const output = events
      .filter((event) => event.event === 'output')
      .map((event) => event.data.text)
      .join('');
    expect(output).toBe('line1\nline2\nline3\n');
    expect(events.at(-1)?.event).toBe('status');
    expect(runResult.parse(events.at(-1)?.data)).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  it('refuses a ninth watcher of one command with 429 LIMIT_REACHED, and takes one again once a stream closes', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const started = await startCommand(session, 'sleep 30');
    const eventsUrl = `${session.url}/commands/${started.id}/events`;
    const watchers = Array.from({ length: 8 }, () => new AbortController());
    const open = (signal: AbortSignal) =>
      fetch(eventsUrl, { headers: { authorization: `Bearer ${session.token}` }, signal });
    try {
      for (const watcher of watchers) expect((await open(watcher.signal)).status).toBe(200);
      const ninth = await open(new AbortController().signal);
      expect(ninth.status).toBe(429);
      expect(ninth.headers.get('content-type')).toMatch(/^application\/json/);
      expect(errorCode(await ninth.json())).toBe('LIMIT_REACHED');

      watchers[0]?.abort();
      const replacement = new AbortController();
      watchers.push(replacement);
      expect(await eventually(async () => (await open(replacement.signal)).status === 200)).toBe(true);
    } finally {
      for (const watcher of watchers) watcher.abort();
      await call(`${session.url}/commands/${started.id}/kill`, session.token, { method: 'POST' });
    }
  });

  it('kills a running command', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const started = await startCommand(session, 'sleep 30');
    const killed = await call(`${session.url}/commands/${started.id}/kill`, session.token, {
      method: 'POST',
    });
    expect(killed.status).toBe(200);
    expect(runResult.parse(killed.body).status).toBe('killed');
  });

  it('serves the audit log, its export and its verification to the admin only', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'echo audited' },
    });
    const listed = await call(
      `${server.url}/v1/audit?sessionId=${session.id}&type=command.proposed`,
      server.adminToken,
    );
    const events = (listed.body as { events: unknown[] }).events.map((event) => auditEvent.parse(event));
    expect(events.map((event) => event.data['command'])).toEqual(['echo audited']);
    const exported = await fetch(`${server.url}/v1/audit/export?sessionId=${session.id}`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(exported.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await exported.text()).trim().split('\n');
    expect(lines.length).toBeGreaterThan(3);
    for (const line of lines) expect(auditEvent.parse(JSON.parse(line)).sessionId).toBe(session.id);
    expect((await call(`${server.url}/v1/audit/verify`, server.adminToken)).body).toMatchObject({
      ok: true,
      checkpoints: { signaturesChecked: true },
      witness: null,
    });
    const bySession = await call(`${server.url}/v1/audit`, session.token);
    expect(bySession.status).toBe(403);
    const metrics = await call(`${server.url}/metrics`, server.adminToken);
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toMatch(/^# HELP airlock_/m);
    // Requests are counted by route pattern, never by a path with ids in it.
    expect(String(metrics.body)).toMatch(
      /^airlock_http_request_duration_seconds_count\{route="\/v1\/sessions\/:id\/commands",method="POST",status="2xx"\} 1$/m,
    );
    expect(String(metrics.body)).not.toContain(session.id);
    expect((await call(`${server.url}/metrics`, session.token)).status).toBe(403);
  });

  it('ends a session on DELETE and forgets its token', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const deleted = await call(session.url, session.token, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(sessionInfo.parse(deleted.body)).toMatchObject({
      state: 'ended',
      endReason: 'destroyed on request',
    });
    const after = await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: 'true' },
    });
    expect(after.status).toBe(401);
    const ended = await call(`${session.url}/commands`, server.adminToken, {
      method: 'POST',
      body: { command: 'true' },
    });
    expect(ended.status).toBe(410);
    expect(errorCode(ended.body)).toBe('SESSION_ENDED');
  });
});

describe('abuse of the HTTP API', () => {
  it('refuses missing, wrong and malformed tokens with 401', async () => {
    const server = await startTestServer();
    const cases: Array<[string, Record<string, string>]> = [
      ['no token', {}],
      ['wrong token', { authorization: 'Bearer alk_admin_not-the-token' }],
      ['not bearer', { authorization: `Basic ${server.adminToken}` }],
      ['empty bearer', { authorization: 'Bearer ' }],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [name, headers] of cases) {
      const response = await call(`${server.url}/v1/sessions`, null, { headers });
      expect(response.status, name).toBe(401);
      expect(errorCode(response.body), name).toBe('UNAUTHENTICATED');
      expect(response.headers.get('www-authenticate'), name).toBe('Bearer');
    }
    await expectHealthy(server);
  });

  it('keeps a session token inside its own session', async () => {
    const server = await startTestServer({ airlock: noApprovals });
    const mine = await newSession(server);
    const theirs = await newSession(server);
    const ran = runResult.parse(
      (
        await call(`${theirs.url}/commands`, theirs.token, {
          method: 'POST',
          body: { command: 'echo secret' },
        })
      ).body,
    );
    const attempts: Array<[string, string, string, unknown?]> = [
      ['see', 'GET', theirs.url],
      ['run', 'POST', `${theirs.url}/commands`, { command: 'echo hi' }],
      ['read a command', 'GET', `${theirs.url}/commands/${ran.id}`],
      ['read a command through its own url', 'GET', `${mine.url}/commands/${ran.id}`],
      ['kill', 'POST', `${theirs.url}/commands/${ran.id}/kill`],
      ['list files', 'GET', `${theirs.url}/files/list?path=/workspace`],
      ['read a file', 'GET', `${theirs.url}/files?path=/workspace/x`],
      ['delete', 'DELETE', theirs.url],
    ];
    for (const [name, method, url, body] of attempts) {
      const response = await call(url, mine.token, { method, ...(body === undefined ? {} : { body }) });
      expect(response.status, name).toBe(404);
      expect(errorCode(response.body), name).toBe('NOT_FOUND');
    }
    const adminOnly: Array<[string, string, unknown?]> = [
      ['POST', '/v1/sessions', {}],
      ['GET', '/v1/approvals'],
      ['GET', '/v1/audit'],
      ['POST', `/v1/sessions/${mine.id}/tokens`],
    ];
    for (const [method, path, body] of adminOnly) {
      const response = await call(`${server.url}${path}`, mine.token, {
        method,
        ...(body === undefined ? {} : { body }),
      });
      expect(response.status, path).toBe(403);
      expect(errorCode(response.body), path).toBe('FORBIDDEN');
    }
    const listed = await call(`${server.url}/v1/sessions`, mine.token);
    expect(
      (listed.body as { sessions: Array<{ id: string }> }).sessions.map((session) => session.id),
    ).toEqual([mine.id]);
    // Their session is untouched.
    expect((await call(theirs.url, theirs.token)).body).toMatchObject({ state: 'active' });
  });

  it('answers bad bodies with 4xx codes and stays healthy', async () => {
    const server = await startTestServer({ server: { maxBodyBytes: 64 * 1024 } });
    const session = await newSession(server);
    const commands = `${session.url}/commands`;
    const cases: Array<[string, Parameters<typeof call>[2], number, string]> = [
      ['malformed JSON', { method: 'POST', body: '{"command":' }, 400, 'INVALID_ARGUMENT'],
      ['unknown field', { method: 'POST', body: { command: 'true', sudo: true } }, 400, 'INVALID_ARGUMENT'],
      ['wrong type', { method: 'POST', body: { command: 42 } }, 400, 'INVALID_ARGUMENT'],
      ['empty command', { method: 'POST', body: { command: '' } }, 400, 'INVALID_ARGUMENT'],
      ['not an object', { method: 'POST', body: '[1,2]' }, 400, 'INVALID_ARGUMENT'],
      [
        'prototype pollution',
        { method: 'POST', body: '{"command":"true","__proto__":{"x":1}}' },
        400,
        'INVALID_ARGUMENT',
      ],
      [
        'oversized body',
        { method: 'POST', body: { command: 'x'.repeat(128 * 1024) } },
        413,
        'BODY_TOO_LARGE',
      ],
      [
        'text instead of JSON',
        { method: 'POST', body: 'echo hi', headers: { 'content-type': 'text/plain' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
      [
        'unknown content type',
        { method: 'POST', body: '<x/>', headers: { 'content-type': 'application/xml' } },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      ],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [name, init, status, code] of cases) {
      const response = await call(commands, session.token, init);
      expect(response.status, name).toBe(status);
      expect(errorCode(response.body), name).toBe(code);
    }
    await expectHealthy(server);
  });

  it('refuses a command longer than the router takes with a 400 that says so', async () => {
    const server = await startTestServer({ server: { maxBodyBytes: 1024 * 1024 } });
    const session = await newSession(server);
    const response = await call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: `echo ${'a'.repeat(MAX_COMMAND_CHARS)}` },
    });
    expect(response.status).toBe(400);
    expect(errorCode(response.body)).toBe('INVALID_ARGUMENT');
    expect(JSON.stringify(response.body)).toMatch(/command/);
    await expectHealthy(server);
  });

  it('answers unknown routes, bad ids and bad queries with 4xx', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    const cases: Array<[string, string, number]> = [
      ['unknown route', '/v2/things', 404],
      ['unknown session', '/v1/sessions/ses_000000000000000000000000', 404],
      ['unknown command', `/v1/sessions/${session.id}/commands/cmd_000000000000000000000000`, 404],
      ['unknown output', '/v1/outputs/out_000000000000000000000000', 404],
      ['bad offset', '/v1/outputs/out_000000000000000000000000?offset=-1', 400],
      ['unknown query field', `/v1/sessions?colour=blue`, 400],
      ['bad audit type', '/v1/audit?type=command.exploded', 400],
      ['overlong id', `/v1/sessions/${'x'.repeat(5000)}`, 400],
    ];
    for (const [name, path, status] of cases) {
      const response = await call(`${server.url}${path}`, server.adminToken);
      expect(response.status, name).toBe(status);
      expect(errorCode(response.body), name).toMatch(/^[A-Z_]+$/);
    }
    await expectHealthy(server);
  });

  it('limits requests per token with 429 and Retry-After, without slowing other tokens', async () => {
    const server = await startTestServer({ server: { rateLimit: { tokens: 5, perMs: 60_000 } } });
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof call>> | undefined;
    for (let index = 0; index < 6; index += 1) {
      last = await call(`${server.url}/v1/sessions`, server.adminToken);
      statuses.push(last.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429]);
    expect(errorCode(last?.body)).toBe('RATE_LIMITED');
    expect(Number(last?.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectHealthy(server);
  });
});

describe('shutting the server down', () => {
  it('kills running commands, records them and leaves no sandbox behind', async () => {
    const server = await startTestServer();
    const session = await newSession(server);
    // A duration no other test uses, so the host's process list tells whether the sandbox survived.
    const marker = '317.75';
    const started = await startCommand(session, `sleep ${marker}`);
    expect(started.status).toBe('running');
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length > 0)).toBe(true);
    const waiting = call(`${session.url}/commands`, session.token, {
      method: 'POST',
      body: { command: `sleep ${marker}` },
    });
    await new Promise((resolve) => setTimeout(resolve, 200));

    const closing = server.server.close();
    // A request that still reaches the server (a kept-alive connection) is told why, in the API's shape.
    const during = await server.server.app.inject({ method: 'GET', url: '/healthz' });
    expect(during.statusCode).toBe(503);
    expect(errorCode(during.json())).toBe('SERVER_STOPPING');
    await closing;
    const answered = await waiting;
    expect(answered.status).toBe(200);
    expect(runResult.parse(answered.body).status).not.toBe('completed');
    expect(hostProcessesMatching(`sleep ${marker}`)).toEqual([]);
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
  });
});
