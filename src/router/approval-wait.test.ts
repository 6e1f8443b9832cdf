/**
 * Approvals that respect the agent's time, on the in-memory driver: no call waits for a person longer
 * than `router.approvalWait` unless its caller asks to, the answer says how to follow up, and the
 * command (or write) still happens by itself once approved.
 */
import { describe, expect, it } from 'vitest';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';

/** `touch` is allowed by the policy; listing it makes it need a person. */
const router = { rateLimit: '1000/min', approvalRequiredFor: ['touch'], approvalWait: '300ms' };

describe('a call waiting for a person', () => {
  it('answers pending_approval after router.approvalWait, and the command runs by itself once approved', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router } });
    const session = await airlock.sessions.create();
    const started = performance.now();
    const pending = await session.run('touch later.txt && echo made');
    const waitedMs = performance.now() - started;
    expect(pending.status).toBe('pending_approval');
    expect(waitedMs).toBeGreaterThanOrEqual(290);
    expect(waitedMs).toBeLessThan(5000);
    expect(pending.approvalId).toMatch(/^apr_/);
    expect(pending.forModel).toContain(`approval ${pending.approvalId}`);
    expect(pending.forModel).toMatch(/runs by itself once approved/);
    expect(pending.forModel).toContain(pending.id);
    // Nothing ran yet.
    expect((await session.files.list('/workspace')).map((f) => f.name)).not.toContain('later.txt');

    await airlock.approvals.approve(pending.approvalId ?? '', { decidedBy: 'alice' });
    const done = await session.commands.wait(pending.id);
    expect(done).toMatchObject({ status: 'completed', exitCode: 0, stdout: 'made\n' });
    expect((await session.files.list('/workspace')).map((f) => f.name)).toContain('later.txt');
  });

  it('waits longer when the caller asks, and then answers with the finished command', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router } });
    const session = await airlock.sessions.create();
    const running = session.run('touch asked.txt', { approvalWaitMs: 10_000 });
    let approvalId: string | undefined;
    while (approvalId === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      [approvalId] = (await airlock.approvals.list({ status: 'pending' })).map((record) => record.id);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    await airlock.approvals.approve(approvalId);
    expect((await running).status).toBe('completed');
  });

  it('answers at once with approvalWaitMs 0, and refuses a wait that is not a whole number', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: { ...router, approvalWait: '1m' } } });
    const session = await airlock.sessions.create();
    const started = performance.now();
    const pending = await session.run('touch now.txt', { approvalWaitMs: 0 });
    expect(pending.status).toBe('pending_approval');
    expect(performance.now() - started).toBeLessThan(5000);
    for (const approvalWaitMs of [-1, 1.5, Number.NaN]) {
      const error = await rejectedAirlockError(session.run('touch x.txt', { approvalWaitMs }));
      expect(error.code, String(approvalWaitMs)).toBe('INVALID_ARGUMENT');
    }
  });

  it("answers a denial that comes within the wait as denied, with the person's reason", async () => {
    const { airlock } = await openMemoryAirlock({ config: { router: { ...router, approvalWait: '10s' } } });
    const session = await airlock.sessions.create();
    const running = session.run('touch no.txt');
    let approvalId: string | undefined;
    while (approvalId === undefined) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      [approvalId] = (await airlock.approvals.list({ status: 'pending' })).map((record) => record.id);
    }
    await airlock.approvals.deny(approvalId, { reason: 'not in this task' });
    const result = await running;
    expect(result.status).toBe('denied');
    expect(result.reasons[0]).toBe('a person denied it: not in this task');
  });

  it('applies to file writes too: pending after the wait, written by itself once approved', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router } });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('package.json', '{"name":"x"}\n');
    expect(pending.status).toBe('pending_approval');
    expect(pending.forModel).toMatch(/written by itself as soon as they do/);
    await airlock.approvals.approve(pending.approvalId ?? '');
    let written = false;
    for (let i = 0; i < 100 && !written; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      written = (await session.files.list('/workspace')).some((f) => f.name === 'package.json');
    }
    expect(written).toBe(true);
  });
});

describe('grants chosen with an approval', () => {
  it("a program grant lets that program's later asks run unasked, in that session only, and is audited", async () => {
    const { airlock } = await openMemoryAirlock({ config: { router } });
    const session = await airlock.sessions.create();
    const first = await session.run('touch a.txt', { approvalWaitMs: 0 });
    const request = await airlock.approvals.get(first.approvalId ?? '');
    expect(request.grants).toEqual([
      { scope: 'command', covers: ['touch a.txt'] },
      { scope: 'program', covers: ['touch'] },
    ]);
    await airlock.approvals.approve(request.id, { scope: 'program', decidedBy: 'alice' });
    expect((await session.commands.wait(first.id)).status).toBe('completed');
    expect((await session.run('touch b.txt c.txt')).status).toBe('completed');
    const other = await airlock.sessions.create();
    expect((await other.run('touch a.txt', { approvalWaitMs: 0 })).status).toBe('pending_approval');
    const [decided] = await airlock.audit.list({ sessionId: session.id, types: ['approval.decided'] });
    expect(decided?.data).toMatchObject({ decidedBy: 'alice', scope: 'program', remember: true });
  });

  it('refuses a scope the request did not offer, naming what it offers (adversarial)', async () => {
    const { airlock } = await openMemoryAirlock({ config: { router } });
    const session = await airlock.sessions.create();
    const first = await session.run('touch "$X"', { approvalWaitMs: 0 });
    const error = await rejectedAirlockError(
      airlock.approvals.approve(first.approvalId ?? '', { scope: 'command' }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toMatch(/can be remembered as program, not command/);
    const host = await rejectedAirlockError(
      airlock.approvals.approve(first.approvalId ?? '', { scope: 'host' }),
    );
    expect(host.code).toBe('INVALID_ARGUMENT');
    expect((await airlock.approvals.get(first.approvalId ?? '')).status).toBe('pending');
  });
});
