/**
 * The SDK end to end against the real HTTP server on 127.0.0.1 (real control plane, SQLite and bwrap
 * sandboxes): every call goes over the wire, and outcomes are checked by their observable effect.
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { errorCodes } from '../../src/index.ts';
import { AirlockApiError, AirlockClient, isAirlockApiError, serverErrorCodes } from '../../src/sdk/index.ts';
import type { CommandEvent } from '../../src/sdk/index.ts';
import { eventually, startServer } from './sdk-support.ts';

async function failure(promise: Promise<unknown>): Promise<AirlockApiError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof AirlockApiError)) throw outcome.error;
  return outcome.error;
}

describe('SDK against the real server: sessions and commands', () => {
  it('creates a session, runs echo hi and ends the session, after which its token is refused', async () => {
    const { admin } = await startServer();
    expect(await admin.health()).toMatchObject({ status: 'ok', sessions: 0 });
    expect(await admin.metrics()).toMatch(/^# (HELP|TYPE) /m);
    const session = await admin.sessions.create({ policy: 'coding-agent' });
    expect(session.id).toMatch(/^ses/);
    expect(session.token).toMatch(/^alk_sess_/);

    const result = await session.run('echo hi');
    expect(result).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'hi\n', decision: 'allow' });
    expect((await session.info()).state).toBe('active');
    expect((await admin.health()).sessions).toBe(1);

    expect((await session.kill()).state).toBe('ended');
    expect((await admin.sessions.get(session.id)).state).toBe('ended');
    // Ending twice is fine; the session's own token died with the session.
    expect((await admin.sessions.destroy(session.id)).state).toBe('ended');
    expect((await failure(session.run('echo again'))).code).toBe('UNAUTHENTICATED');
  });

  it('returns a denial as a result with reasons, and nothing runs', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const result = await session.run('rm -rf /');
    expect(result.status).toBe('denied');
    expect(result.decision).toBe('deny');
    expect(result.exitCode).toBeNull();
    expect(result.reasons.join(' ')).toMatch(/deletes/);
    expect(result.forModel.length).toBeGreaterThan(0);
  });

  it('streams a background command: output arrives line by line before the final status', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const handle = await session.start('for i in 1 2 3; do echo line$i; sleep 0.2; done; echo oops >&2');
    expect(handle.started?.status).toBe('running');
    const events: CommandEvent[] = [];
    const arrivedAtMs: number[] = [];
    for await (const event of handle) {
      events.push(event);
      arrivedAtMs.push(Date.now());
    }
    // Streamed, not buffered: the first line came while the command still had ~0.6 s to run.
    expect((arrivedAtMs.at(-1) ?? 0) - (arrivedAtMs[0] ?? 0)).toBeGreaterThan(300);
    const last = events.at(-1);
    expect(last?.type).toBe('status');
    const outputs = events.filter((event) => event.type === 'output');
    expect(
      outputs
        .filter((event) => event.stream === 'stdout')
        .map((event) => event.text)
        .join(''),
    ).toBe('line1\nline2\nline3\n');
    expect(outputs.some((event) => event.stream === 'stderr' && event.text === 'oops\n')).toBe(true);
    expect(last?.type === 'status' && last.result).toMatchObject({ status: 'completed', exitCode: 0 });
    // After the end, wait() and result() agree with the stream.
    expect((await handle.wait()).status).toBe('completed');
    expect((await handle.result()).stdout).toBe('line1\nline2\nline3\n');
  });

  it('kills a running command, and its process tree stops writing', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const handle = await session.start('while true; do date +%s%N > /workspace/tick; sleep 0.05; done');
    const ticking = await eventually(async () => {
      const entries = await session.files.list('/workspace');
      return entries.some((entry) => entry.name === 'tick') ? true : undefined;
    });
    expect(ticking).toBe(true);
    expect((await handle.kill()).status).toBe('killed');
    const final = await handle.wait({ timeoutMs: 10_000 });
    expect(final.status).toBe('killed');
    const before = await session.files.readText('/workspace/tick');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await session.files.readText('/workspace/tick')).toBe(before);
  });

  it('enforces a command timeout in the sandbox as a result, and a client-side timeout as TIMEOUT', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const timedOut = await session.run('sleep 10', { timeoutMs: 300 });
    expect(timedOut.status).toBe('timed_out');
    const error = await failure(session.run('sleep 3', { requestTimeoutMs: 200 }));
    expect([error.code, error.status]).toEqual(['TIMEOUT', 0]);
  });

  it('pages a truncated output back exactly, with the session token', async () => {
    const { admin } = await startServer({ config: { router: { output: { maxChars: 1000 } } } });
    const session = await admin.sessions.create();
    const result = await session.run('seq 1 20000');
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBeLessThanOrEqual(1000);
    const outputId = result.outputId ?? '';
    expect(outputId).not.toBe('');

    const expected = Array.from({ length: 20000 }, (_, i) => `${i + 1}\n`).join('');
    const pages = [];
    for await (const page of session.outputs.pages(outputId, { limit: 7000 })) pages.push(page);
    expect(pages.length).toBeGreaterThan(1);
    expect(pages.map((page) => page.text).join('')).toBe(expected);
    expect(pages[0]?.totalChars).toBe(expected.length);
    expect(await admin.outputs.readAll(outputId, { limit: 50_000 })).toBe(expected);

    // Another session's token cannot read it (adversarial: ids are not capabilities).
    const other = await admin.sessions.create();
    const stranger = new AirlockClient({ url: admin.url, token: other.token ?? '' });
    expect((await failure(stranger.outputs.read(outputId))).code).toBe('NOT_FOUND');
  });
});

describe('SDK against the real server: files', () => {
  /** The default configuration asks a person before every write_file. */
  const noWriteApproval = { router: { approvalRequiredFor: [] } };

  it('writes, reads and lists files, bytes exactly', async () => {
    const { admin } = await startServer({ config: noWriteApproval });
    const session = await admin.sessions.create();
    const bytes = new Uint8Array([0, 1, 2, 0xc3, 0xa9, 0xff, 0x0a]);
    const written = await session.files.write('/workspace/data.bin', bytes);
    expect(written).toMatchObject({ status: 'completed', bytes: bytes.length });
    await session.files.write('/workspace/hello.txt', 'héllo\n');

    expect([...(await session.files.read('/workspace/data.bin'))]).toEqual([...bytes]);
    expect(await session.files.readText('/workspace/hello.txt')).toBe('héllo\n');
    expect((await session.run('cat /workspace/hello.txt')).stdout).toBe('héllo\n');

    const entries = await session.files.list('/workspace');
    const byName = new Map(entries.map((entry) => [entry.name, entry]));
    expect(byName.get('data.bin')).toMatchObject({ kind: 'file', sizeBytes: bytes.length });
    expect(byName.get('hello.txt')).toMatchObject({ kind: 'file', sizeBytes: 7 });
  });

  it('refuses a path that climbs out of the sandbox with PATH_OUTSIDE_SANDBOX, writing nothing', async () => {
    const { admin } = await startServer({ config: noWriteApproval });
    const session = await admin.sessions.create();
    const cases = [
      '/workspace/../../etc/escape.txt',
      '../escape.txt',
      '/workspace/../escape.txt',
      '/etc/escape.txt',
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const path of cases) {
      const error = await failure(session.files.write(path, 'x'));
      expect([error.code, error.status], path).toEqual(['PATH_OUTSIDE_SANDBOX', 400]);
      expect(error.details.path ?? path, path).toBe(path);
    }
    expect((await failure(session.files.read('/workspace/../../etc/shadow'))).code).toBe(
      'PATH_OUTSIDE_SANDBOX',
    );
    expect(existsSync('/etc/escape.txt')).toBe(false);
    expect(existsSync('/escape.txt')).toBe(false);
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).not.toContain('escape.txt');
  });

  it('returns a write that needs a person as pending_approval when asked not to wait', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    // A build file a person inherits asks, as a shell write of it does.
    const pending = await session.files.write('/workspace/package.json', '{}', { wait: false });
    expect(pending).toMatchObject({ status: 'pending_approval', path: '/workspace/package.json' });
    const record = await admin.approvals.get(pending.approvalId ?? '');
    expect([record.action, record.status]).toEqual(['write_file', 'pending']);
    expect(record.grants).toEqual([{ scope: 'command', covers: ['write_file /workspace/package.json'] }]);
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).not.toContain('package.json');
  });
});

describe('SDK against the real server: approvals', () => {
  /** `touch` is allowed by the default policy; listing it in approvalRequiredFor makes it need a person. */
  const config = { router: { approvalRequiredFor: ['touch'] } };

  it('runs a command once a second client approves it, and a second decision is APPROVAL_CLOSED', async () => {
    const { admin, url, adminToken } = await startServer({ config });
    const session = await admin.sessions.create();
    const running = session.run('touch approved.txt');

    const reviewer = new AirlockClient({ url, token: adminToken });
    const pending = await eventually(async () => {
      const list = await reviewer.approvals.list({ status: 'pending', sessionId: session.id });
      return list.length === 1 ? list[0] : undefined;
    });
    expect(pending?.parsed).toEqual(['touch approved.txt']);
    expect(pending?.action).toBe('command');
    const approved = await reviewer.approvals.approve(pending?.id ?? '', { reason: 'looks fine' });
    expect(approved).toMatchObject({ status: 'approved', decisionReason: 'looks fine' });

    const result = await running;
    expect(result).toMatchObject({ status: 'completed', approvalId: pending?.id });
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).toContain('approved.txt');

    const again = await failure(reviewer.approvals.deny(pending?.id ?? ''));
    expect([again.code, again.status]).toEqual(['APPROVAL_CLOSED', 409]);
    expect((await reviewer.approvals.get(pending?.id ?? '')).status).toBe('approved');
  });

  it('returns pending_approval at once from start(), and a denial reaches the waiting handle', async () => {
    const { admin } = await startServer({ config });
    const session = await admin.sessions.create();
    const handle = await session.start('touch denied.txt');
    expect(handle.started?.status).toBe('pending_approval');
    const approvalId = handle.started?.approvalId ?? '';
    await admin.approvals.deny(approvalId, { reason: 'not in this task' });
    const final = await handle.wait({ timeoutMs: 10_000 });
    expect(final.status).toBe('denied');
    expect(final.forModel).toContain('not in this task');
    expect((await session.files.list('/workspace')).map((entry) => entry.name)).not.toContain('denied.txt');
  });
});

describe('SDK against the real server: a session’s network', () => {
  it('creates a session with a narrower network, reaches an allowed host, and changes the list live (admin only)', async () => {
    const upstream = createServer((req, res) => res.end(`hello ${req.url ?? ''}\n`));
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    try {
      const { admin, url } = await startServer({
        config: {
          sandbox: {
            network: {
              mode: 'ask',
              allow: [`api.example.test:${port}`, `docs.example.test:${port}`],
              hosts: { 'api.example.test': '127.0.0.1', 'docs.example.test': '127.0.0.1' },
            },
          },
          policy: { preset: 'permissive' },
          router: { approvalRequiredFor: [] },
        },
      });
      const session = await admin.sessions.create({
        network: { mode: 'allowlist', allow: [`api.example.test:${port}`] },
      });
      const fetchWith = (host: string) =>
        session.run(
          `python3 -c "import urllib.request as u; print(u.urlopen('http://${host}:${port}/x').read().decode().strip())" 2>&1 | tail -1`,
        );
      expect((await fetchWith('api.example.test')).stdout).toBe('hello /x\n');
      const refused = await fetchWith('docs.example.test');
      expect(refused.stdout).toContain('403');
      expect(refused.refusedHosts).toEqual([
        expect.objectContaining({ host: 'docs.example.test', port, reason: 'not_allowed' }),
      ]);

      const agent = new AirlockClient({ url, token: session.token ?? '' });
      expect((await failure(agent.sessions.setNetwork(session.id, 'none'))).code).toBe('FORBIDDEN');
      expect((await failure(admin.sessions.setNetwork(session.id, { allow: ['evil.example'] }))).code).toBe(
        'INVALID_ARGUMENT',
      );
      const info = await admin.sessions.setNetwork(session.id, {
        mode: 'allowlist',
        allow: [`api.example.test:${port}`, `docs.example.test:${port}`],
      });
      expect(info.network).toMatchObject({ mode: 'allowlist' });
      expect((await fetchWith('docs.example.test')).stdout).toBe('hello /x\n');
      expect((await session.info()).network.allow).toContain(`docs.example.test:${port}`);
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  });
});

describe('SDK against the real server: auth, audit and errors', () => {
  it('answers a wrong token with UNAUTHENTICATED and an admin route with a session token with FORBIDDEN', async () => {
    const { admin, url } = await startServer();
    const wrong = new AirlockClient({ url, token: 'alk_admin_not-the-token' });
    const error = await failure(wrong.sessions.list());
    expect([error.code, error.status]).toEqual(['UNAUTHENTICATED', 401]);
    expect(error.message).not.toContain('alk_admin_not-the-token');

    const session = await admin.sessions.create();
    const agent = new AirlockClient({ url, token: session.token ?? '' });
    expect((await failure(agent.approvals.list())).code).toBe('FORBIDDEN');
    expect((await failure(agent.sessions.create())).status).toBe(403);
    // A session token sees its own session only; another one is as unknown as a missing one.
    const other = await admin.sessions.create();
    expect((await agent.sessions.list()).map((info) => info.id)).toEqual([session.id]);
    expect((await failure(agent.sessions.connect(other.id))).code).toBe('NOT_FOUND');
    expect((await agent.sessions.connect(session.id)).id).toBe(session.id);
    // A minted token is another key to the same session only.
    const minted = await admin.sessions.createToken(session.id);
    const second = await admin.sessions.connect(session.id, { token: minted });
    expect((await second.run('echo minted')).stdout).toBe('minted\n');
    expect((await failure(admin.sessions.connect(other.id, { token: minted }))).code).toBe('NOT_FOUND');
  });

  it('lists, exports and verifies the audit log', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    await session.run('echo audited');
    const events = await admin.audit.list({ sessionId: session.id });
    expect(events.map((event) => event.type)).toContain('execution.finished');
    const decided = await admin.audit.list({ sessionId: session.id, types: ['command.decided'] });
    expect(decided.length).toBeGreaterThan(0);
    expect(decided.every((event) => event.type === 'command.decided')).toBe(true);

    const exported = [];
    for await (const event of admin.audit.export({ sessionId: session.id })) exported.push(event);
    expect(exported.map((event) => event.seq)).toEqual(events.map((event) => event.seq));
    expect(await admin.audit.verify()).toMatchObject({ ok: true });
  });

  it('names an unknown session NOT_FOUND and a malformed request INVALID_ARGUMENT', async () => {
    const { admin } = await startServer();
    const missing = await failure(admin.sessions.get('ses_does_not_exist'));
    expect([missing.code, missing.status]).toEqual(['NOT_FOUND', 404]);
    const session = await admin.sessions.create();
    const bad = await failure(session.run(''));
    expect([bad.code, bad.status]).toEqual(['INVALID_ARGUMENT', 400]);
  });

  it('reports CONNECTION_FAILED when no server listens', async () => {
    const { url, server, adminToken } = await startServer();
    await server.close();
    const client = new AirlockClient({ url, token: adminToken });
    const error = await failure(client.health({ timeoutMs: 5000 }));
    expect([error.code, error.status]).toEqual(['CONNECTION_FAILED', 0]);
  });

  it("knows every code the server's error table can send", () => {
    const known = new Set<string>(serverErrorCodes);
    const serverCodes = Object.keys(errorCodes);
    expect(serverCodes.length).toBeGreaterThan(0);
    expect(serverCodes.filter((code) => !known.has(code))).toEqual([]);
    expect(
      isAirlockApiError(new AirlockApiError({ code: 'NOT_FOUND', status: 404, message: 'x' }), 'NOT_FOUND'),
    ).toBe(true);
  });
});

describe('SDK against a server that is not Airlock', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function listen(listener: RequestListener): Promise<string> {
    const server = createServer(listener);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('never follows a redirect (adversarial): a 307 would replay the request body to another server', async () => {
    const received: string[] = [];
    const elsewhere = await listen((request, response) => {
      received.push(`${request.method} ${request.url}`);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    const redirecting = await listen((request, response) => {
      response.writeHead(307, { location: `${elsewhere}${request.url}` }).end();
    });
    const client = new AirlockClient({ url: redirecting, token: 'alk_admin_x' });
    const error = await failure(client.approvals.approve('apr_1', { reason: 'looks fine' }));
    expect([error.code, error.status]).toEqual(['CONNECTION_FAILED', 0]);
    expect(received).toEqual([]);
  });
});
