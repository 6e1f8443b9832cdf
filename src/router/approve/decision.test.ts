import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../../store/index.ts';
import type { Store } from '../../store/index.ts';
import { awaitDecision, createApprovals, refusalReason } from './index.ts';
import type { Approvals } from './index.ts';

const opened: Array<{ store: Store; approvals: Approvals }> = [];
afterEach(async () => {
  for (const { store, approvals } of opened.splice(0)) {
    approvals.close();
    await store.close();
  }
});

const SESSION = 'ses_000000000000000000000001';

async function fixture(
  clock = { now: 1_000_000 },
): Promise<{ approvals: Approvals; clock: { now: number } }> {
  const store = openStore({ kind: 'sqlite', path: ':memory:' }, { baseDir: '/' });
  const at = new Date(0).toISOString();
  await store.commit({
    sessions: [
      {
        id: SESSION,
        state: 'active',
        driver: 'bwrap',
        sandboxId: null,
        spec: {},
        owner: 'test',
        createdAt: at,
        lastActiveAt: at,
        expiresAt: null,
        endedAt: null,
        endReason: null,
      },
    ],
  });
  const approvals = createApprovals({ store, now: () => clock.now, pollIntervalMs: 10 });
  opened.push({ store, approvals });
  return { approvals, clock };
}

const request = {
  sessionId: SESSION,
  commandId: null,
  action: 'command' as const,
  subject: 'touch\u001b[2Ja',
  parsed: ['touch a'],
  reasons: ['listed'],
  timeoutMs: 60_000,
};

describe('approve: waiting for a decision', () => {
  it('shows a person the subject with control characters escaped (adversarial: terminal escapes)', async () => {
    const { approvals } = await fixture();
    const record = await approvals.request(request);
    expect(record.subject).not.toContain('\u001b');
  });

  it('says approved, denied with the reason, or expired', async () => {
    const { approvals, clock } = await fixture();
    const ok = await approvals.request(request);
    await approvals.decide(ok.id, 'approve');
    expect((await awaitDecision(approvals, ok.id, new AbortController().signal, 'command')).approved).toBe(
      true,
    );

    const no = await approvals.request(request);
    await approvals.decide(no.id, 'deny', { reason: 'not now' });
    const denied = await awaitDecision(approvals, no.id, new AbortController().signal, 'command');
    expect(denied.approved === false && refusalReason(denied, 'command', 60_000)).toBe(
      'a person denied it: not now',
    );

    const late = await approvals.request(request);
    clock.now += 60_000;
    const expired = await awaitDecision(approvals, late.id, new AbortController().signal, 'write');
    expect(expired.approved === false && refusalReason(expired, 'write', 60_000)).toBe(
      'no one approved it in time',
    );
    expect(expired.approved === false && refusalReason(expired, 'command', 60_000)).toBe(
      'no one approved it within 60 s, so it counts as denied',
    );
  });

  it('withdraws the request when the caller gives up, so nobody approves what will never run', async () => {
    const { approvals } = await fixture();
    const record = await approvals.request(request);
    const gaveUp = new AbortController();
    const waiting = awaitDecision(approvals, record.id, gaveUp.signal, 'command');
    gaveUp.abort();
    const outcome = await waiting;
    expect(outcome.approved === false && outcome.why).toBe('withdrawn');
    expect((await approvals.get(record.id)).status).toBe('expired');
    await expect(approvals.decide(record.id, 'approve')).rejects.toMatchObject({ code: 'APPROVAL_CLOSED' });
  });
});
