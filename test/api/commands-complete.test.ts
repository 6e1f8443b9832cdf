/**
 * Commands complete, over HTTP and through the SDK against a real server on 127.0.0.1 (real control
 * plane, SQLite, bwrap sandboxes): a command's own directory, variables and standard input, live
 * output callbacks, the commands in flight, a session's lifetime, and unknown options refused.
 */
import { describe, expect, it } from 'vitest';
import { AirlockApiError, MAX_STDIN_BYTES } from '../../src/sdk/index.ts';
import type { RunOptions } from '../../src/sdk/index.ts';
import { startServer } from './sdk-support.ts';
import { call, errorCode } from './support.ts';

async function failure(promise: Promise<unknown>): Promise<AirlockApiError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof AirlockApiError)) throw outcome.error;
  return outcome.error;
}

describe('HTTP API: a command with its own cwd, env and stdin', () => {
  it('runs in the directory given, with the variables and input given', async () => {
    const { url, adminToken } = await startServer();
    const created = await call(`${url}/v1/sessions`, adminToken, { method: 'POST', body: {} });
    const { id, token } = created.body as { id: string; token: string };
    const commands = `${url}/v1/sessions/${id}/commands`;
    await call(commands, token, { method: 'POST', body: { command: 'mkdir -p src/deep' } });

    const where = await call(commands, token, { method: 'POST', body: { command: 'pwd', cwd: 'src/deep' } });
    expect(where.body).toMatchObject({ status: 'completed', stdout: '/workspace/src/deep\n' });

    const env = await call(commands, token, {
      method: 'POST',
      body: {
        command: 'printf "%s|%s" "$GREETING" "$OTHER"',
        env: { GREETING: "it's $HOME `x`", OTHER: '' },
      },
    });
    // The value arrives as given: quoted for the policy, never expanded.
    expect(env.body).toMatchObject({ status: 'completed', stdout: "it's $HOME `x`|" });

    const text = await call(commands, token, {
      method: 'POST',
      body: { command: 'wc -l', stdin: 'a\nb\nc\n' },
    });
    expect(text.body).toMatchObject({ status: 'completed', stdout: '3\n' });
    const bytes = Buffer.from([0, 1, 2, 255, 10]);
    const binary = await call(commands, token, {
      method: 'POST',
      body: { command: 'od -An -tu1', stdinBase64: bytes.toString('base64') },
    });
    expect((binary.body as { stdout: string }).stdout.trim().split(/\s+/)).toEqual([
      '0',
      '1',
      '2',
      '255',
      '10',
    ]);

    // The audit log says where it ran, which variables it had and how much input it was given.
    const audit = await call(`${url}/v1/audit?sessionId=${id}&type=command.proposed`, adminToken);
    const proposed = (audit.body as { events: Array<{ data: Record<string, unknown> }> }).events.map(
      (event) => event.data,
    );
    expect(proposed).toContainEqual(expect.objectContaining({ command: 'pwd', cwd: '/workspace/src/deep' }));
    expect(proposed).toContainEqual(expect.objectContaining({ command: 'wc -l', stdinBytes: 6 }));
    expect(proposed).toContainEqual(
      expect.objectContaining({ env: { GREETING: "it's $HOME `x`", OTHER: '' } }),
    );
  });

  it('judges variables as assignments (adversarial): LD_PRELOAD is refused, PATH asks a person, nothing runs', async () => {
    const { url, adminToken } = await startServer();
    const created = await call(`${url}/v1/sessions`, adminToken, { method: 'POST', body: {} });
    const { id, token } = created.body as { id: string; token: string };
    const commands = `${url}/v1/sessions/${id}/commands`;
    const preload = await call(commands, token, {
      method: 'POST',
      body: { command: 'touch /workspace/ran', env: { LD_PRELOAD: '/tmp/evil.so' } },
    });
    expect(preload.body).toMatchObject({ status: 'denied', decision: 'deny' });
    expect((preload.body as { ruleIds: string[] }).ruleIds).toContain('loader-variables');
    // A value that would end the quoting and run something is still one assignment.
    const injected = await call(commands, token, {
      method: 'POST',
      body: { command: 'true', env: { X: "'; touch /workspace/ran; '" } },
    });
    expect(injected.body).toMatchObject({ status: 'completed' });
    const path = await call(commands, token, {
      method: 'POST',
      body: { command: 'touch /workspace/ran', env: { PATH: '/tmp' }, wait: false },
    });
    expect(path.body).toMatchObject({ status: 'pending_approval', decision: 'ask' });
    const approvals = await call(`${url}/v1/approvals?status=pending`, adminToken);
    const [approval] = (approvals.body as { approvals: Array<{ subject: string }> }).approvals;
    // The person sees the variable the command would get, not only the command.
    expect(approval?.subject).toContain("export PATH='/tmp'");
    const listing = await call(`${url}/v1/sessions/${id}/files/list?path=/workspace`, token);
    expect(
      (listing.body as { entries: Array<{ name: string }> }).entries.map((entry) => entry.name),
    ).not.toContain('ran');
  });

  it('refuses bad options with INVALID_ARGUMENT before anything runs', async () => {
    const { url, adminToken } = await startServer();
    const created = await call(`${url}/v1/sessions`, adminToken, { method: 'POST', body: {} });
    const { id, token } = created.body as { id: string; token: string };
    const commands = `${url}/v1/sessions/${id}/commands`;
    const cases: Array<[unknown, string]> = [
      [{ command: 'ls', envs: { A: 'b' } }, 'INVALID_ARGUMENT'],
      [{ command: 'ls', cwd: '/etc' }, 'PATH_OUTSIDE_SANDBOX'],
      [{ command: 'ls', cwd: '../..' }, 'PATH_OUTSIDE_SANDBOX'],
      [{ command: 'ls', env: { 'A-B': 'x' } }, 'INVALID_ARGUMENT'],
      [{ command: 'ls', env: { A: 'x\u0000y' } }, 'INVALID_ARGUMENT'],
      [{ command: 'ls', stdin: 'a', stdinBase64: 'YQ==' }, 'INVALID_ARGUMENT'],
      [{ command: 'ls', stdinBase64: 'not base64!' }, 'INVALID_ARGUMENT'],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [body, code] of cases) {
      const answer = await call(commands, token, { method: 'POST', body });
      expect([answer.status, errorCode(answer.body)], JSON.stringify(body)).toEqual([
        code === 'INVALID_ARGUMENT' ? 400 : answer.status,
        code,
      ]);
    }
    const audit = await call(`${url}/v1/audit?sessionId=${id}&type=command.proposed`, adminToken);
    expect((audit.body as { events: unknown[] }).events).toHaveLength(0);
  });

  it('lists the commands in flight, and extends the lifetime only within the maximum', async () => {
    const { url, adminToken } = await startServer({
      config: { sessions: { lifetime: '1h', maxLifetime: '2h' } },
    });
    const created = await call(`${url}/v1/sessions`, adminToken, { method: 'POST', body: {} });
    const { id, token, expiresAt } = created.body as { id: string; token: string; expiresAt: string };
    const commands = `${url}/v1/sessions/${id}/commands`;
    expect((await call(commands, token)).body).toEqual({ commands: [] });
    const started = await call(commands, token, {
      method: 'POST',
      body: { command: 'sleep 30', wait: false },
    });
    const listed = (await call(commands, token)).body as { commands: Array<{ id: string; status: string }> };
    expect(listed.commands).toEqual([
      expect.objectContaining({ id: (started.body as { id: string }).id, status: 'running' }),
    ]);
    await call(`${commands}/${(started.body as { id: string }).id}/kill`, token, { method: 'POST' });
    expect((await call(commands, token)).body).toEqual({ commands: [] });

    const extended = await call(`${url}/v1/sessions/${id}`, token, {
      method: 'PATCH',
      body: { expiresInMs: 90 * 60_000 },
    });
    expect(extended.status).toBe(200);
    const newEnd = Date.parse((extended.body as { expiresAt: string }).expiresAt);
    expect(newEnd).toBeGreaterThan(Date.parse(expiresAt) + 25 * 60_000);
    const tooLong = await call(`${url}/v1/sessions/${id}`, token, {
      method: 'PATCH',
      body: { expiresInMs: 3 * 3_600_000 },
    });
    expect([tooLong.status, errorCode(tooLong.body)]).toEqual([400, 'INVALID_ARGUMENT']);
    const unknown = await call(`${url}/v1/sessions/${id}`, token, { method: 'PATCH', body: { ttlMs: 1000 } });
    expect(errorCode(unknown.body)).toBe('INVALID_ARGUMENT');
    // Another session's token cannot move this session's end (it is answered as unknown).
    const other = await call(`${url}/v1/sessions`, adminToken, { method: 'POST', body: {} });
    const foreign = await call(`${url}/v1/sessions/${id}`, (other.body as { token: string }).token, {
      method: 'PATCH',
      body: { expiresInMs: 1000 },
    });
    expect(errorCode(foreign.body)).toBe('NOT_FOUND');
    const audit = await call(`${url}/v1/audit?sessionId=${id}&type=session.extended`, adminToken);
    expect((audit.body as { events: unknown[] }).events).toHaveLength(1);
  });
});

describe('SDK: commands complete', () => {
  it('passes cwd, env and stdin (text, bytes, a stream) and calls onStdout/onStderr line by line', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    expect(await session.run('pwd', { cwd: '/tmp' })).toMatchObject({ stdout: '/tmp\n' });
    expect(await session.run('echo "$A"', { env: { A: 'b c' } })).toMatchObject({ stdout: 'b c\n' });
    expect(await session.run('cat', { stdin: 'typed' })).toMatchObject({ stdout: 'typed' });
    expect(await session.run('wc -c', { stdin: new Uint8Array([1, 2, 3]) })).toMatchObject({ stdout: '3\n' });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('one\n'));
        controller.enqueue(new TextEncoder().encode('two\n'));
        controller.close();
      },
    });
    expect(await session.run('sort -r', { stdin: stream })).toMatchObject({ stdout: 'two\none\n' });

    const out: string[] = [];
    const err: string[] = [];
    const result = await session.run('for i in 1 2 3; do echo out$i; echo err$i >&2; sleep 0.1; done', {
      onStdout: (text) => out.push(text),
      onStderr: (text) => err.push(text),
    });
    expect(result).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(out.join('')).toBe('out1\nout2\nout3\n');
    expect(err.join('')).toBe('err1\nerr2\nerr3\n');
  });

  it('refuses an unknown option (E2B envs, a typo) with INVALID_ARGUMENT before sending anything', async () => {
    const { admin, airlock } = await startServer();
    const session = await admin.sessions.create();
    const envs = await failure(
      session.run('touch /workspace/x', { envs: { A: 'b' } } as unknown as RunOptions),
    );
    expect(envs).toMatchObject({ code: 'INVALID_ARGUMENT', status: 0, details: { option: 'envs' } });
    expect(envs.message).toContain('env');
    expect((await failure(session.start('ls', { onStdout: () => undefined } as never))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await failure(session.run('ls', { onStdout: 'no' } as never))).code).toBe('INVALID_ARGUMENT');
    const huge = new Uint8Array(MAX_STDIN_BYTES + 1);
    expect((await failure(session.run('cat', { stdin: huge }))).code).toBe('INVALID_ARGUMENT');
    // Nothing reached the pipeline: no command was even proposed.
    expect(await airlock.audit.list({ sessionId: session.id, types: ['command.proposed'] })).toHaveLength(0);
  });

  it('lists running commands, extends the session, and destroy() ends it while kill() stays an alias', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const handle = await session.start('sleep 30');
    expect((await session.commands.list()).map((command) => command.id)).toEqual([handle.id]);
    await handle.kill();
    expect(await session.commands.list()).toEqual([]);
    const before = Date.parse((await session.info()).expiresAt ?? '');
    const after = Date.parse((await session.extend(12 * 3_600_000)).expiresAt ?? '');
    expect(after).toBeGreaterThan(before);
    expect((await failure(session.extend(48 * 3_600_000))).code).toBe('INVALID_ARGUMENT');
    expect((await session.destroy()).state).toBe('ended');
    const second = await admin.sessions.create();
    expect((await second.kill()).state).toBe('ended');
  });
});

describe('HTTP API: interactive commands', () => {
  it('runs on a terminal, takes typed input and a resize, and records what was typed, redacted', async () => {
    const { url, adminToken } = await startServer();
    const created = await call(`${url}/v1/sessions`, adminToken, {
      method: 'POST',
      body: { secretEnv: { API_TOKEN: 'sk-typed-secret-1234567890' } },
    });
    const { id, token } = created.body as { id: string; token: string };
    const commands = `${url}/v1/sessions/${id}/commands`;
    const started = await call(commands, token, {
      method: 'POST',
      body: {
        command: 'stty size; read a; stty size; echo "typed:$a"',
        interactive: { pty: { cols: 90, rows: 30 } },
      },
    });
    expect(started.body).toMatchObject({ status: 'running' });
    const commandId = (started.body as { id: string }).id;
    const input = `${commands}/${commandId}/input`;
    const resized = await call(input, token, { method: 'POST', body: { resize: { cols: 100, rows: 33 } } });
    expect(resized.body).toEqual({ written: 0 });
    const typed = await call(input, token, {
      method: 'POST',
      body: { data: 'sk-typed-secret-1234567890\r' },
    });
    expect(typed.body).toEqual({ written: 27 });
    let final: { status: string; stdout: string } | undefined;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      final = (await call(`${commands}/${commandId}`, token)).body as { status: string; stdout: string };
      if (final.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(final?.status).toBe('completed');
    expect(final?.stdout).toContain('33 100');
    // The secret the person typed is redacted in the result and in the audit log alike.
    expect(final?.stdout).not.toContain('sk-typed-secret');
    const audit = await call(`${url}/v1/audit?sessionId=${id}&type=command.input`, adminToken);
    const events = (audit.body as { events: Array<{ data: { text: string } }> }).events;
    expect(events.length).toBeGreaterThan(0);
    expect(events.map((event) => event.data.text).join('')).not.toContain('sk-typed-secret');
    // Input to a finished command, or an unknown one, is refused plainly (adversarial).
    const late = await call(input, token, { method: 'POST', body: { data: 'x' } });
    expect([late.status, errorCode(late.body)]).toEqual([400, 'INVALID_ARGUMENT']);
    const oversize = await call(input, token, { method: 'POST', body: { resize: { cols: 5000, rows: 1 } } });
    expect(errorCode(oversize.body)).toBe('INVALID_ARGUMENT');
  });
});

describe('SDK: interactive commands', () => {
  it('starts a command on a terminal, types into it, resizes it and reads its answer', async () => {
    const { admin } = await startServer();
    const session = await admin.sessions.create();
    const handle = await session.start('read a; stty size; echo "got:$a"', {
      interactive: { pty: { cols: 80, rows: 24 } },
    });
    await handle.resize(132, 43);
    expect(await handle.sendInput('hello\r')).toBe(6);
    const result = await handle.wait({ timeoutMs: 20_000 });
    expect(result.status).toBe('completed');
    expect(result.stdout).toContain('43 132');
    expect(result.stdout).toContain('got:hello');
    // run() waits for the end, which an interactive command would not reach by itself.
    expect((await failure(session.run('cat', { interactive: {} } as never))).code).toBe('INVALID_ARGUMENT');
    const piped = await session.start('cat', { interactive: {} });
    await piped.sendInput(new Uint8Array([104, 105]));
    await piped.endInput();
    expect((await piped.wait({ timeoutMs: 20_000 })).stdout).toBe('hi');
  });
});
