/**
 * The router's stages end to end on the in-memory test driver: what a command goes through, what it
 * returns and what the audit log says, without a real sandbox.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEventType } from '../store/index.ts';
import { MAX_COMMAND_CHARS } from './index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { eventually, openMemoryAirlock } from '../../test/support/memory-airlock.ts';

const quiet = { rateLimit: '1000/min', approvalRequiredFor: ['touch'] };

describe('router: a command the policy allows', () => {
  it('runs it and records proposal, decision, start and finish in that order', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const result = await session.run('echo hello; echo oops >&2; exit 3');
    expect(result).toMatchObject({ status: 'completed', exitCode: 3, stdout: 'hello\n', stderr: 'oops\n' });
    expect(result.forModel).toMatch(/^exit code 3\nstdout:\nhello\n/);
    const events = await airlock.audit.list({ sessionId: session.id });
    const types: AuditEventType[] = events
      .filter((event) => event.commandId === result.id)
      .map((e) => e.type);
    expect(types).toEqual([
      'command.proposed',
      'command.decided',
      'execution.started',
      'execution.finished',
      'output.stored',
    ]);
    expect(events.find((event) => event.type === 'execution.started')?.data['driver']).toBe('bwrap');
  });

  it('kills it at its timeout and says so', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const result = await session.run('echo begun; sleep 30', { timeoutMs: 100 });
    expect(result).toMatchObject({ status: 'timed_out', stdout: 'begun\n' });
    expect(result.forModel).toMatch(/^timed out after 0\.1 s/);
  });

  it('refuses bad input before anything is recorded', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    expect((await rejectedAirlockError(session.run('   '))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(session.run(`echo ${'a'.repeat(MAX_COMMAND_CHARS)}`))).code).toBe(
      'INVALID_ARGUMENT',
    );
    expect((await rejectedAirlockError(session.run('true', { timeoutMs: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(session.run('true', { timeoutMs: 10 ** 12 }))).code).toBe(
      'INVALID_ARGUMENT',
    );
    const proposed = await airlock.audit.list({ sessionId: session.id, types: ['command.proposed'] });
    expect(proposed).toHaveLength(0);
  });
});

describe('router: a command the policy denies', () => {
  it('never reaches the sandbox, and the denial is recorded with its rule', async () => {
    const { airlock, driver } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const result = await session.run('echo RAN > ran.txt; rm -rf /');
    expect(result.status).toBe('denied');
    expect(result.ruleIds.length).toBeGreaterThan(0);
    expect(driver.sandboxes[0]?.fs.get('/workspace/ran.txt')).toBeUndefined();
    const events = await airlock.audit.list({ sessionId: session.id });
    expect(events.map((event) => event.type)).toEqual([
      'session.created',
      'command.proposed',
      'command.decided',
    ]);
    expect(events.at(-1)?.data['decision']).toBe('deny');
  });
});

describe('router: a command a person must approve', () => {
  it('waits for the approval, then runs', async () => {
    const { airlock, driver } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch approved.txt', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    expect(driver.sandboxes[0]?.fs.get('/workspace/approved.txt')).toBeUndefined();
    await airlock.approvals.approve(pending.approvalId ?? '', { decidedBy: 'test' });
    const done = await session.commands.wait(pending.id);
    expect(done.status).toBe('completed');
    expect(driver.sandboxes[0]?.fs.get('/workspace/approved.txt')?.kind).toBe('file');
    const types = (await airlock.audit.list({ sessionId: session.id })).map((event) => event.type);
    expect(types).toContain('approval.requested');
    expect(types.indexOf('approval.decided')).toBeLessThan(types.indexOf('execution.started'));
  });

  it('runs nothing when the person denies it, and tells the model why', async () => {
    const { airlock, driver } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch denied.txt', { waitForApproval: false });
    await airlock.approvals.deny(pending.approvalId ?? '', { reason: 'not today' });
    const done = await session.commands.wait(pending.id);
    expect(done.status).toBe('denied');
    expect(done.reasons[0]).toBe('a person denied it: not today');
    expect(driver.sandboxes[0]?.fs.get('/workspace/denied.txt')).toBeUndefined();
  });

  it('counts an approval nobody decides in time as denied', async () => {
    const { airlock } = await openMemoryAirlock({
      config: { router: { ...quiet, approvalTimeout: '100ms' } },
    });
    const session = await airlock.sessions.create();
    const result = await session.run('touch late.txt');
    expect(result.status).toBe('denied');
    expect(result.reasons[0]).toMatch(/no one approved it within/);
  });

  it('runs the same literal command unasked once a person approved it for the session', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const first = await session.run('touch kept.txt', { waitForApproval: false });
    await airlock.approvals.approve(first.approvalId ?? '', { remember: true });
    expect((await session.commands.wait(first.id)).status).toBe('completed');
    expect((await session.run('touch kept.txt')).status).toBe('completed');
    expect((await session.run('touch other.txt', { waitForApproval: false })).status).toBe(
      'pending_approval',
    );
    const other = await airlock.sessions.create();
    expect((await other.run('touch kept.txt', { waitForApproval: false })).status).toBe('pending_approval');
  });

  it('withdraws the request when the session ends while it waits', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch never.txt', { waitForApproval: false });
    await session.destroy();
    expect((await airlock.commands.wait(pending.id)).status).toBe('denied');
    expect((await airlock.approvals.get(pending.approvalId ?? '')).status).toBe('expired');
  });
});

describe('router: rate limit', () => {
  it('refuses commands over the rate with when to retry, and records it', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: { ...quiet, rateLimit: '2/min' } } });
    const session = await airlock.sessions.create();
    expect((await session.run('true')).status).toBe('completed');
    expect((await session.run('true')).status).toBe('completed');
    const limited = await session.run('true');
    expect(limited.status).toBe('rate_limited');
    expect(limited.retryAfterMs).toBeGreaterThan(0);
    const recorded = await airlock.audit.list({ sessionId: session.id, types: ['rate.limited'] });
    expect(recorded.map((event) => event.commandId)).toEqual([limited.id]);
  });
});

describe('router: background commands', () => {
  it('returns at once, then finishes on its own', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const started = await session.run('sleep 0.1; echo done', { background: true });
    expect(started.status).toBe('running');
    const finished = await session.commands.wait(started.id);
    expect(finished).toMatchObject({ status: 'completed', stdout: 'done\n' });
  });

  it('kills one on request', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const started = await session.run('sleep 30', { background: true });
    const killed = await session.commands.kill(started.id);
    expect(killed.status).toBe('killed');
    const finished = await airlock.audit.list({ sessionId: session.id, types: ['execution.finished'] });
    expect(finished.map((event) => event.data['status'])).toEqual(['killed']);
  });
});

describe('router: output', () => {
  it('cuts long output for the model and keeps all of it pageable', async () => {
    const { airlock } = await openMemoryAirlock({
      config: { router: { ...quiet, output: { maxChars: 200 } } },
    });
    const session = await airlock.sessions.create();
    const text = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n');
    await session.files.write('long.txt', text);
    const result = await session.run('cat long.txt');
    expect(result.truncated).toBe(true);
    expect(result.stdout.length).toBeLessThanOrEqual(200);
    expect(result.stdout).toMatch(/read_output output_id=out_/);
    const page = await airlock.commands.readOutput(result.outputId ?? '', { limit: 10_000 });
    expect(page.text).toBe(text);
  });

  it('redacts a session secret from the output, the stored copy and the audit log', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const secret = 'sk-test-0123456789abcdef0123';
    const session = await airlock.sessions.create({ secretEnv: { API_KEY: secret } });
    await session.files.write('creds.txt', `key=${secret}\n`);
    const result = await session.run(`cat creds.txt; echo ${secret}`);
    expect(result.stdout).not.toContain(secret);
    expect(result.command).not.toContain(secret);
    const page = await airlock.commands.readOutput(result.outputId ?? '');
    expect(page.text).not.toContain(secret);
    const log = JSON.stringify(await airlock.audit.list({ sessionId: session.id }));
    expect(log).not.toContain(secret);
  });
});

describe('router: files', () => {
  it('records each write with its size and hash, never its content', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const written = await session.files.write('notes/a.txt', 'private words');
    expect(written).toMatchObject({ status: 'completed', bytes: 13 });
    const [event] = await airlock.audit.list({ sessionId: session.id, types: ['file.written'] });
    expect(event?.data).toMatchObject({ path: 'notes/a.txt', bytes: 13 });
    expect(event?.data['sha256']).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(event)).not.toContain('private words');
  });

  it('asks a person first when approvalRequiredFor lists write_file', async () => {
    const { airlock, driver } = await openMemoryAirlock({
      config: { router: { ...quiet, approvalRequiredFor: ['write_file'] } },
    });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('a.txt', 'x', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    expect(driver.sandboxes[0]?.fs.get('/workspace/a.txt')).toBeUndefined();
    await airlock.approvals.approve(pending.approvalId ?? '');
    expect(await eventually(() => driver.sandboxes[0]?.fs.get('/workspace/a.txt') !== undefined)).toBe(true);
  });
});

describe('router: one ownership check for every surface', () => {
  it("answers another session's command and output exactly like ones that do not exist", async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const mine = await airlock.sessions.create();
    const theirs = await airlock.sessions.create();
    const result = await theirs.run('echo private');
    const missing = 'cmd_000000000000000000000000';
    const foreign = await airlock.commands
      .get(result.id, { within: mine.id })
      .catch((error: unknown) => error);
    const unknown = await airlock.commands.get(missing, { within: mine.id }).catch((error: unknown) => error);
    expect(foreign).toMatchObject({ code: 'NOT_FOUND' });
    expect(String((foreign as Error).message).replace(result.id, 'ID')).toBe(
      String((unknown as Error).message).replace(missing, 'ID'),
    );
    const page = airlock.commands.readOutput(result.outputId ?? '', { within: (id) => id === mine.id });
    await expect(page).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(airlock.commands.kill(result.id, { within: mine.id })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await airlock.commands.get(result.id, { within: theirs.id })).stdout).toBe('private\n');
  });
});

describe('router: a one-shot run from a terminal', () => {
  it('refuses at once what needs a person when nobody can be asked, and records why', async () => {
    const { airlock, driver } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    const result = await session.run('touch asked.txt', { noApprover: true });
    expect(result).toMatchObject({ status: 'denied', decision: 'ask' });
    expect(driver.sandboxes[0]?.fs.get('/workspace/asked.txt')).toBeUndefined();
    expect(await airlock.approvals.list({ sessionId: session.id })).toEqual([]);
    const [decided] = await airlock.audit.list({ sessionId: session.id, types: ['command.decided'] });
    expect(decided?.data).toMatchObject({ decision: 'ask', approver: 'none' });
  });

  it("streams the command's own bytes to the terminal and keeps the recorded copy redacted", async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const secret = 'sk-test-0123456789abcdef0123';
    const session = await airlock.sessions.create({ secretEnv: { API_KEY: secret } });
    await session.files.write('creds.txt', `${secret}\n`);
    const seen: Buffer[] = [];
    const terminal = { write: (chunk: Buffer) => seen.push(chunk) > 0, once: () => undefined };
    const result = await session.run('cat creds.txt', {
      rawOutputTo: { stdout: terminal, stderr: terminal },
    });
    expect(Buffer.concat(seen).toString()).toBe(`${secret}\n`);
    expect(result.stdout).not.toContain(secret);
    await expect(
      session.run('true', { background: true, rawOutputTo: { stdout: terminal, stderr: terminal } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('router: file reads and listings', () => {
  it('redacts a read and records it with what was given', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const secret = 'sk-test-0123456789abcdef0123';
    const session = await airlock.sessions.create({ secretEnv: { API_KEY: secret } });
    await session.files.write('creds.txt', `key=${secret}\n`);
    const shown = await session.files.read('creds.txt');
    expect(shown.toString()).toMatch(/^key=\[REDACTED/);
    const [read] = await airlock.audit.list({ sessionId: session.id, types: ['file.read'] });
    expect(read?.data).toMatchObject({ path: 'creds.txt', bytes: shown.length });
    expect(JSON.stringify(read)).not.toContain(secret);
  });

  it('records a listing and redacts names an agent chose (adversarial: a file named after a secret)', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const secret = 'sk-test-0123456789abcdef0123';
    const session = await airlock.sessions.create({ secretEnv: { API_KEY: secret } });
    await session.files.write(`dir/${secret}`, 'x');
    const entries = await session.files.list('dir');
    expect(entries).toHaveLength(1);
    expect(entries[0]?.name).not.toContain(secret);
    const [listed] = await airlock.audit.list({ sessionId: session.id, types: ['file.listed'] });
    expect(listed?.data).toEqual({ path: 'dir', entries: 1 });
  });

  it('records nothing for a read the sandbox refuses', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet } });
    const session = await airlock.sessions.create();
    expect((await rejectedAirlockError(session.files.read('/etc/passwd'))).code).toBe('PATH_OUTSIDE_SANDBOX');
    expect(await airlock.audit.list({ sessionId: session.id, types: ['file.read'] })).toEqual([]);
  });
});

describe("router: network commands judged against the session's list", () => {
  const network = { mode: 'ask' as const, allow: ['api.example.test', 'docs.example.test'] };

  it('runs a command to an allowed host unasked, asks about others, and follows a live change', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet, sandbox: { network } } });
    const session = await airlock.sessions.create({ network: { allow: ['api.example.test'] } });
    const allowed = await session.run('curl -s https://api.example.test/v1', { noApprover: true });
    expect(allowed.decision).toBe('allow');
    expect(allowed.ruleIds).toContain('network-granted');
    const other = await session.run('curl -s https://docs.example.test/', { noApprover: true });
    expect(other).toMatchObject({ status: 'denied', decision: 'ask' });
    expect(other.ruleIds).toContain('network-grantable');

    await airlock.sessions.setNetwork(session.id, { allow: ['api.example.test', 'docs.example.test'] });
    const granted = await session.run('curl -s https://docs.example.test/', { noApprover: true });
    expect(granted.decision).toBe('allow');
    // The dry run judges against the same list.
    expect((await session.commands.check('curl -s https://docs.example.test/')).decision).toBe('allow');
    expect((await session.commands.check('curl -s https://evil.example/')).decision).toBe('ask');
  });

  it('lets a command use a secret’s placeholder without asking: the value never enters the sandbox', async () => {
    const { airlock } = await openMemoryAirlock({
      envExtra: { SUITE_TOKEN: 'sk-live-router-placeholder' },
      config: {
        router: quiet,
        sandbox: {
          network,
          secrets: [{ name: 'API_TOKEN', fromEnv: 'SUITE_TOKEN', hosts: ['api.example.test'] }],
        },
      },
    });
    const session = await airlock.sessions.create({ network: { mode: 'allowlist' } });
    const result = await session.run('curl -sS --oauth2-bearer "$API_TOKEN" https://api.example.test/');
    expect(result.decision).toBe('allow');
    expect((await session.run('echo $OTHER_TOKEN')).decision).toBe('deny');
  });

  it('refuses at once, saying why, a host nobody can grant in allowlist mode', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: quiet, sandbox: { network } } });
    const session = await airlock.sessions.create({ network: { mode: 'allowlist' } });
    const result = await session.run('curl -s https://evil.example/');
    expect(result).toMatchObject({ status: 'denied', decision: 'deny' });
    expect(result.ruleIds).toContain('no-network');
    expect((await session.run('curl -s https://docs.example.test/')).decision).toBe('allow');
  });
});
