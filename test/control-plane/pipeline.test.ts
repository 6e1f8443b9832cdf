/**
 * The router pipeline end to end: real policy, real bwrap sandbox, real SQLite store.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError, loadPolicy } from '../../src/index.ts';
import { openAirlock } from './support.ts';

async function eventTypes(airlock: Awaited<ReturnType<typeof openAirlock>>['airlock'], commandId: string) {
  const events = await airlock.audit.list({ limit: 1000 });
  return events.filter((event) => event.commandId === commandId).map((event) => event.type);
}

describe('a command the policy allows', () => {
  it('runs in the session sandbox and comes back with exit code, output and a text for the model', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const result = await session.run('echo hello; echo oops >&2; exit 3');
    expect(result.status).toBe('completed');
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toBe('hello\n');
    expect(result.stderr).toBe('oops\n');
    expect(result.truncated).toBe(false);
    expect(result.forModel).toContain('exit code 3');
    expect(result.forModel).toContain('hello');
    // Intent first, result after: proposed and decided before started, then finished and stored.
    expect(await eventTypes(airlock, result.id)).toEqual([
      'command.proposed',
      'command.decided',
      'execution.started',
      'execution.finished',
      'output.stored',
    ]);
  });

  it('keeps state between commands of one session and none between sessions', async () => {
    const { airlock } = await openAirlock();
    const first = await airlock.sessions.create();
    const second = await airlock.sessions.create();
    expect((await first.run('echo kept > notes.txt')).exitCode).toBe(0);
    expect((await first.run('cat notes.txt')).stdout).toBe('kept\n');
    const other = await second.run('cat notes.txt');
    expect(other.exitCode).not.toBe(0);
    expect(other.stdout).toBe('');
  });

  it('times out with the process tree killed and says so', async () => {
    // Permissive so that `ps` (which the default policy leaves to a person) can check the result.
    const { airlock } = await openAirlock({ policy: loadPolicy({ preset: 'permissive' }) });
    const session = await airlock.sessions.create();
    const result = await session.run('echo started; sleep 30', { timeoutMs: 500 });
    expect(result.status).toBe('timed_out');
    expect(result.stdout).toBe('started\n');
    expect(result.forModel).toMatch(/timed out after 0\.5 s/);
    const check = await session.run('ps -eo comm | grep -c "^sleep$" || true');
    expect(check.stdout.trim()).toBe('0');
  });

  it('refuses a timeout above the configured maximum as a caller mistake', async () => {
    const { airlock } = await openAirlock({ config: { sandbox: { maxTimeout: '1m' } } });
    const session = await airlock.sessions.create();
    const error = await session.run('true', { timeoutMs: 120_000 }).catch((e: unknown) => e);
    expect(isAirlockError(error) && error.code).toBe('INVALID_ARGUMENT');
    const empty = await session.run('   ').catch((e: unknown) => e);
    expect(isAirlockError(empty) && empty.code).toBe('INVALID_ARGUMENT');
    const huge = await session.run(`echo ${'a'.repeat(200_000)}`).catch((e: unknown) => e);
    expect(isAirlockError(huge) && huge.code).toBe('INVALID_ARGUMENT');
  });
});

describe('a command the policy denies', () => {
  it('never runs, and the model is told the rule and the reason', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const result = await session.run('touch /workspace/before && rm -rf /');
    expect(result.status).toBe('denied');
    expect(result.decision).toBe('deny');
    expect(result.ruleIds.length).toBeGreaterThan(0);
    expect(result.forModel).toContain('denied');
    expect(result.forModel).toContain(result.ruleIds[0]);
    expect(result.reasons.join(' ')).toMatch(/outside the workspace/);
    // Nothing of the command ran, not even its harmless first half.
    const files = await session.files.list('/workspace');
    expect(files.map((file) => file.name)).not.toContain('before');
    expect(await eventTypes(airlock, result.id)).toEqual(['command.proposed', 'command.decided']);
    expect((await airlock.commands.get(result.id)).status).toBe('denied');
  });
});

describe('rate limits', () => {
  it('answer rate_limited with a retry-after once a session used its budget; other sessions are unaffected', async () => {
    const { airlock } = await openAirlock({ config: { router: { rateLimit: '3/min' } } });
    const busy = await airlock.sessions.create();
    const quiet = await airlock.sessions.create();
    const results = [];
    for (let i = 0; i < 4; i += 1) results.push(await busy.run('true'));
    expect(results.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'rate_limited']);
    const limited = results[3];
    expect(limited?.retryAfterMs).toBeGreaterThan(15_000);
    expect(limited?.retryAfterMs).toBeLessThanOrEqual(20_000);
    expect(limited?.forModel).toMatch(/retry in \d+ s/);
    expect((await quiet.run('true')).status).toBe('completed');
  });
});

describe('sessions', () => {
  it('are listed, looked up and destroyed; a destroyed session refuses further commands', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create({ memoryBytes: 128 * 1024 * 1024, pids: 64 });
    const info = await session.info();
    expect(info.state).toBe('active');
    expect(info.limits.memoryBytes).toBe(128 * 1024 * 1024);
    expect(info.limits.pids).toBe(64);
    expect(info.isolation).toMatchObject({
      isolation: 'bwrap',
      processes: { supervisorIsPid1: true, separateUid: false },
    });
    expect((await airlock.sessions.list({ state: 'active' })).map((s) => s.id)).toContain(session.id);
    await session.destroy();
    await session.destroy();
    const error = await session.run('true').catch((e: unknown) => e);
    expect(isAirlockError(error) && error.code).toBe('SESSION_ENDED');
    expect((await airlock.sessions.info(session.id)).state).toBe('ended');
    const unknown = await airlock.sessions.get('ses_000000000000000000000000').catch((e: unknown) => e);
    expect(isAirlockError(unknown) && unknown.code).toBe('NOT_FOUND');
  });

  it('can each have their own policy preset, judged independently', async () => {
    const { airlock } = await openAirlock();
    const reviewer = await airlock.sessions.create({ policy: 'readonly' });
    const coder = await airlock.sessions.create();
    expect((await reviewer.run('echo note > notes.txt', { waitForApproval: false })).status).not.toBe(
      'completed',
    );
    expect((await coder.run('echo note > notes.txt')).status).toBe('completed');
    expect((await reviewer.info()).policy).toBe('preset:readonly');
    const bad = await airlock.sessions.create({ policy: 'yolo' as 'readonly' }).catch((e: unknown) => e);
    expect(isAirlockError(bad) && bad.code).toBe('INVALID_ARGUMENT');
  });

  it('end after their idle timeout and after their lifetime', async () => {
    const { airlock } = await openAirlock();
    const idle = await airlock.sessions.create({ idleTimeoutMs: 300 });
    const short = await airlock.sessions.create({ ttlMs: 600 });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const states = await Promise.all([idle.info(), short.info()]);
      if (states.every((state) => state.state === 'ended')) break;
      // Keeping the ttl session busy does not keep it alive past its lifetime.
      await short.run('true').catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await idle.info()).endReason).toMatch(/idle/);
    expect((await short.info()).endReason).toMatch(/lifetime/);
  });

  it('are capped: one over the limit is refused with LIMIT_REACHED', async () => {
    const { airlock } = await openAirlock({ maxSessions: 2 });
    await airlock.sessions.create();
    const second = await airlock.sessions.create();
    const error = await airlock.sessions.create().catch((e: unknown) => e);
    expect(isAirlockError(error) && error.code).toBe('LIMIT_REACHED');
    await second.destroy();
    await expect(airlock.sessions.create()).resolves.toBeDefined();
  });
});

describe('background commands', () => {
  it('start at once, can be polled while running, and finish with their full output', async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const started = await session.run('for i in 1 2 3 4; do echo tick $i; sleep 0.3; done', {
      background: true,
    });
    expect(started.status).toBe('running');
    let polled = await session.commands.get(started.id);
    const deadline = Date.now() + 5000;
    while (!polled.stdout.includes('tick 1') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      polled = await session.commands.get(started.id);
    }
    expect(polled.status).toBe('running');
    expect(polled.stdout).toContain('tick 1');
    const done = await session.commands.wait(started.id);
    expect(done.status).toBe('completed');
    expect(done.stdout).toBe('tick 1\ntick 2\ntick 3\ntick 4\n');
  });

  it('are killed on request with every process they started', async () => {
    const { airlock } = await openAirlock({ policy: loadPolicy({ preset: 'permissive' }) });
    const session = await airlock.sessions.create();
    const started = await session.run('sleep 60 & sleep 61; echo never', { background: true });
    const killed = await session.commands.kill(started.id);
    expect(killed.status).toBe('killed');
    expect(killed.stdout).not.toContain('never');
    const check = await session.run('ps -eo comm | grep -c "^sleep$" || true');
    expect(check.stdout.trim()).toBe('0');
    const stored = await airlock.commands.get(started.id);
    expect(stored.status).toBe('killed');
  });

  it('of one session are not visible through another session', async () => {
    const { airlock } = await openAirlock();
    const mine = await airlock.sessions.create();
    const theirs = await airlock.sessions.create();
    const started = await mine.run('sleep 5', { background: true });
    const error = await theirs.commands.kill(started.id).catch((e: unknown) => e);
    expect(isAirlockError(error) && error.code).toBe('NOT_FOUND');
    expect((await mine.commands.get(started.id)).status).toBe('running');
  });
});
