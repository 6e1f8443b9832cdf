/**
 * Approvals end to end: a command the policy leaves to a person waits for (or returns before) a
 * decision made through the library, through a second control plane on the same store, or by nobody.
 */
import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/index.ts';
import { eventually, openAirlock } from './support.ts';

/** `touch` is allowed by the default policy; listing it in approvalRequiredFor makes it need a person. */
const config = { router: { approvalRequiredFor: ['touch', 'write_file'] } };

describe('a command that needs approval', () => {
  it('runs once a person approves it, and the request shows the parsed command', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const running = session.run('touch approved.txt');
    let pending: Awaited<ReturnType<typeof airlock.approvals.list>> = [];
    expect(
      await eventually(
        async () => (pending = await airlock.approvals.list({ status: 'pending' })).length === 1,
      ),
    ).toBe(true);
    const [request] = pending;
    expect(request?.sessionId).toBe(session.id);
    expect(request?.parsed).toEqual(['touch approved.txt']);
    expect(request?.reasons.join(' ')).toMatch(/approvalRequiredFor/);
    await airlock.approvals.approve(request?.id ?? '', { decidedBy: 'test' });
    const result = await running;
    expect(result.status).toBe('completed');
    expect(result.approvalId).toBe(request?.id);
    expect((await session.files.list('/workspace')).map((f) => f.name)).toContain('approved.txt');
    // Deciding twice is refused: the first decision stands.
    const again = await airlock.approvals.deny(request?.id ?? '').catch((e: unknown) => e);
    expect(isAirlockError(again) && again.code).toBe('APPROVAL_CLOSED');
  });

  it('does not run when a person denies it, and the model reads their reason', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch denied.txt', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    expect(pending.forModel).toContain(pending.approvalId);
    await airlock.approvals.deny(pending.approvalId ?? '', { reason: 'not in this task', decidedBy: 'test' });
    const result = await airlock.commands.wait(pending.id);
    expect(result.status).toBe('denied');
    expect(result.forModel).toContain('not in this task');
    expect((await session.files.list('/workspace')).map((f) => f.name)).not.toContain('denied.txt');
  });

  it('is denied when nobody decides before the approval timeout', async () => {
    const { airlock } = await openAirlock({
      config: { router: { ...config.router, approvalTimeout: '300ms' } },
    });
    const session = await airlock.sessions.create();
    const started = Date.now();
    const result = await session.run('touch late.txt');
    expect(result.status).toBe('denied');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(result.forModel).toMatch(/no one approved it/);
    const record = await airlock.approvals.get(result.approvalId ?? '');
    expect(record.status).toBe('expired');
    const late = await airlock.approvals.approve(record.id).catch((e: unknown) => e);
    expect(isAirlockError(late) && late.code).toBe('APPROVAL_CLOSED');
    expect((await session.files.list('/workspace')).map((f) => f.name)).not.toContain('late.txt');
  });

  it('can be approved from a second control plane on the same store', async () => {
    const { airlock, home } = await openAirlock({ config });
    const { airlock: decider } = await openAirlock({ config, home });
    const session = await airlock.sessions.create();
    const pending = await session.run('touch remote.txt', { waitForApproval: false });
    await decider.approvals.approve(pending.approvalId ?? '', { decidedBy: 'second' });
    const result = await airlock.commands.wait(pending.id);
    expect(result.status).toBe('completed');
    const decided = await airlock.approvals.get(pending.approvalId ?? '');
    expect(decided.decidedBy).toBe('second');
  });

  it('approved "for this session" runs again without asking, only in that session and only that command', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const other = await airlock.sessions.create();
    const first = await session.run('touch remembered.txt', { waitForApproval: false });
    await airlock.approvals.approve(first.approvalId ?? '', { remember: true });
    expect((await airlock.commands.wait(first.id)).status).toBe('completed');

    const again = await session.run('touch remembered.txt', { waitForApproval: false });
    expect(again.status).toBe('completed');
    expect(again.approvalId).toBeNull();
    const different = await session.run('touch something-else.txt', { waitForApproval: false });
    expect(different.status).toBe('pending_approval');
    const elsewhere = await other.run('touch remembered.txt', { waitForApproval: false });
    expect(elsewhere.status).toBe('pending_approval');
  });

  it('is never remembered for a command whose words are only known at run time', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const first = await session.run('touch "$TARGET"', { waitForApproval: false });
    expect(first.status).toBe('pending_approval');
    await airlock.approvals.approve(first.approvalId ?? '', { remember: true });
    expect((await airlock.commands.wait(first.id)).status).toBe('completed');
    // Approved once; with $TARGET possibly naming something else next time, it asks again.
    const again = await session.run('touch "$TARGET"', { waitForApproval: false });
    expect(again.status).toBe('pending_approval');
  });

  it('escapes control characters in what a person is shown', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    // A CR would let the visible text hide what runs; the policy denies it, and the record never
    // shows it raw either.
    const result = await session.run('touch "a\rb"', { waitForApproval: false });
    expect(result.status).toBe('denied');
    const events = await airlock.audit.list({ sessionId: session.id });
    expect(JSON.stringify(events)).not.toContain('\r');
  });
});

describe('writing a file when write_file needs approval', () => {
  it('waits for a person, then writes; denied means nothing is written', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('/workspace/plan.md', '# plan\n', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    const writing = session.files.write('/workspace/plan.md', '# plan\n');
    const requests = await airlock.approvals.list({ status: 'pending', sessionId: session.id });
    expect(requests.length).toBeGreaterThanOrEqual(1);
    await eventually(async () => (await airlock.approvals.list({ status: 'pending' })).length === 2);
    for (const request of await airlock.approvals.list({ status: 'pending' })) {
      if (request.id === pending.approvalId) await airlock.approvals.deny(request.id);
      else await airlock.approvals.approve(request.id);
    }
    expect((await writing).status).toBe('completed');
    expect((await session.files.read('/workspace/plan.md')).toString()).toBe('# plan\n');
    // Recorded by path, size and hash; the content never reaches the audit log.
    const written = await airlock.audit.list({ sessionId: session.id, types: ['file.written'] });
    expect(written.map((event) => event.data['bytes'])).toEqual([7]);
    expect(JSON.stringify(written)).not.toContain('# plan');
  });

  it('outside the writable areas is refused before anyone is asked', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const error = await session.files.write('/etc/../../etc/passwd', 'x').catch((e: unknown) => e);
    expect(isAirlockError(error) && error.code).toBe('PATH_OUTSIDE_SANDBOX');
    expect(await airlock.approvals.list({ status: 'pending' })).toEqual([]);
  });

  it('through a symlink the agent planted is refused before anyone is asked', async () => {
    const { airlock } = await openAirlock({ config });
    // Permissive: planting the link would otherwise wait for a person too.
    const session = await airlock.sessions.create({ policy: 'permissive' });
    expect(
      (await session.run('ln -s /etc /workspace/etc && ln -s /etc/hostname /workspace/name')).status,
    ).toBe('completed');
    for (const path of ['/workspace/etc/evil', '/workspace/name']) {
      const error = await session.files.write(path, 'x').catch((e: unknown) => e);
      expect(isAirlockError(error) && error.code, path).toBe('PATH_OUTSIDE_SANDBOX');
    }
    expect(await airlock.approvals.list({ status: 'pending' })).toEqual([]);
  });

  it('returned before the decision, is written as soon as a person approves it', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const pending = await session.files.write('/workspace/later.txt', 'later\n', { waitForApproval: false });
    expect(pending.status).toBe('pending_approval');
    expect(pending.forModel).toMatch(/as soon as they do/);
    await airlock.approvals.approve(pending.approvalId ?? '');
    expect(
      await eventually(async () =>
        (await session.files.list('/workspace')).some((file) => file.name === 'later.txt'),
      ),
    ).toBe(true);
    expect((await session.files.read('/workspace/later.txt')).toString()).toBe('later\n');
  });
});

describe('closing the control plane', () => {
  it('ends a command waiting for approval as denied, recorded before the store closes', async () => {
    const { airlock, home } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    const waiting = session.run('touch never.txt');
    await eventually(async () => (await airlock.approvals.list({ status: 'pending' })).length === 1);
    await airlock.close();
    const result = await waiting;
    expect(result.status).toBe('denied');
    expect(result.forModel).toMatch(/cancelled while waiting/);
    const { airlock: reopened } = await openAirlock({ home });
    const [command] = (await reopened.audit.list({ sessionId: session.id })).filter(
      (e) => e.commandId !== null,
    );
    expect((await reopened.commands.get(command?.commandId ?? '')).status).toBe('denied');
    // Nobody is left to run it, so nobody may be asked to approve it.
    expect(await reopened.approvals.list({ status: 'pending' })).toEqual([]);
  });

  it('withdraws the request of a command or a write whose caller gave up, so a late approval is refused', async () => {
    const { airlock } = await openAirlock({ config });
    const session = await airlock.sessions.create();
    for (const start of [
      (signal: AbortSignal) => session.run('touch never.txt', { signal }),
      (signal: AbortSignal) => session.files.write('/workspace/never.txt', 'x', { signal }),
    ]) {
      const caller = new AbortController();
      const waiting = start(caller.signal);
      expect(
        await eventually(async () => (await airlock.approvals.list({ status: 'pending' })).length === 1),
      ).toBe(true);
      const [request] = await airlock.approvals.list({ status: 'pending' });
      caller.abort();
      await waiting.catch(() => undefined);
      const late = await airlock.approvals.approve(request?.id ?? '').catch((error: unknown) => error);
      expect(isAirlockError(late) && late.code).toBe('APPROVAL_CLOSED');
      expect((await airlock.approvals.get(request?.id ?? '')).decisionReason).toMatch(/^withdrawn: /);
    }
    expect((await session.files.list('/workspace')).map((file) => file.name)).not.toContain('never.txt');
  });
});
