/**
 * The conformance suite's audit-chain half (store-conformance.ts runs it): appends, verify, the
 * append-only guards, tampering, concurrent writers on one storage, signed checkpoints and approvals
 * decided by two stores at once.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { hashEvent } from './audit-chain.ts';
import { signCheckpoint, type AuditSigningKey } from './audit-checkpoint.ts';
import { loadOrCreateAuditKey } from './audit-key.ts';
import type { StoreHarness } from './store-conformance.ts';
import { alert, approval, makeTempDir, session } from './test-support.ts';
import type { AuditEvent, Store } from './types.ts';

export const FIXED = new Date('2025-02-03T04:05:06.789Z');

export async function appendMany(store: Store, commits: number, perCommit: number): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (let i = 0; i < commits; i++) {
    const events = Array.from({ length: perCommit }, (_, j) => alert({ i, j, text: `cmd ${i}/${j} 😀` }));
    all.push(...(await store.commit({ events })));
  }
  return all;
}

export interface ChainContext {
  readonly store: Store;
  readonly harness: StoreHarness;
  open(): Promise<Store>;
}

export function describeChain(current: () => ChainContext): void {
  it('appends events with seq, the store clock and a hash chain, and lists them oldest first', async () => {
    const { store } = current();
    const appended = await store.commit({
      events: [
        alert({ n: 1 }),
        { type: 'session.created', sessionId: 's1', commandId: null, data: { driver: 'bwrap' } },
      ],
    });
    expect(appended.map((e) => [e.seq, e.at])).toEqual([
      [1, FIXED.toISOString()],
      [2, FIXED.toISOString()],
    ]);
    expect(appended[0]?.prevHash).toBe('');
    expect(appended[1]?.prevHash).toBe(appended[0]?.hash);
    expect(appended[0]?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(await store.listEvents()).toStrictEqual(appended);
    expect(await store.listEvents({ afterSeq: 1 })).toStrictEqual(appended.slice(1));
    expect(await store.listEvents({ sessionId: 's1' })).toStrictEqual(appended.slice(1));
    expect(await store.listEvents({ types: ['resource.alert'] })).toStrictEqual(appended.slice(0, 1));
    expect(await store.listEvents({ types: [] })).toEqual([]);
    expect(await store.listEvents({ limit: 1 })).toStrictEqual(appended.slice(0, 1));
  });

  it('verifies an empty log and a log longer than one verify page, and a second implementation agrees', async () => {
    const { store } = current();
    const noCheckpoints = { signaturesChecked: false, verified: 0, lastSeq: 0, keyIds: [] };
    expect(await store.verify()).toEqual({
      ok: true,
      checked: 0,
      lastHash: '',
      checkpoints: { ...noCheckpoints, unsignedEvents: 0 },
    });
    const events = await appendMany(store, 301, 4);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
    expect(await store.verify()).toEqual({
      ok: true,
      checked: events.length,
      lastHash: events.at(-1)?.hash,
      checkpoints: { ...noCheckpoints, unsignedEvents: events.length },
    });
    let prevHash = '';
    for (const event of await store.listEvents({ limit: 10_000 })) {
      expect(event.prevHash).toBe(prevHash);
      expect(hashEvent(prevHash, event)).toBe(event.hash);
      prevHash = event.hash;
    }
  });

  it('refuses an ordinary UPDATE or DELETE of an event (append-only guard)', async () => {
    const { store, harness } = current();
    await appendMany(store, 2, 1);
    await expect(harness.plain('UPDATE events SET data = \'{"x":1}\' WHERE seq = 1')).rejects.toThrow(
      /append-only/,
    );
    await expect(harness.plain('DELETE FROM events WHERE seq = 2')).rejects.toThrow(/append-only/);
    expect(await store.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  describe('tampering (adversarial)', () => {
    beforeEach(async () => {
      await appendMany(current().store, 10, 1);
    });

    const cases: [string, string, Record<string, unknown>][] = [
      [
        'an edited event',
        `UPDATE events SET data = '{"command":"rm -rf /"}' WHERE seq = 5`,
        { seq: 5, problem: 'hash-mismatch', checked: 4 },
      ],
      [
        'an edited time',
        `UPDATE events SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 3`,
        { seq: 3, problem: 'hash-mismatch' },
      ],
      ['a deleted middle event', 'DELETE FROM events WHERE seq = 5', { seq: 5, problem: 'gap' }],
      ['deleted newest events', 'DELETE FROM events WHERE seq >= 9', { seq: 9, problem: 'gap', checked: 8 }],
      [
        'unreadable event data',
        `UPDATE events SET data = 'not json' WHERE seq = 2`,
        { seq: 2, problem: 'unreadable' },
      ],
    ];

    it.each(cases)('detects %s', async (_name, sql, expected) => {
      const { store, harness } = current();
      await harness.tamper(sql);
      expect(await store.verify()).toMatchObject({ ok: false, ...expected });
    });

    it('detects an edit that also recomputes that event hash as chain-broken at the next seq', async () => {
      const { store, harness } = current();
      const [event] = await store.listEvents({ afterSeq: 4, limit: 1 });
      if (event === undefined) throw new Error('no event 5');
      const forged = { ...event, data: { command: 'innocent' } };
      await harness.tamper(
        `UPDATE events SET data = '{"command":"innocent"}', hash = '${hashEvent(event.prevHash, forged)}' WHERE seq = 5`,
      );
      expect(await store.verify()).toMatchObject({ ok: false, seq: 6, problem: 'chain-broken' });
    });

    it('detects an event appended behind the store back, and refuses to append after it', async () => {
      const { store, harness } = current();
      const [last] = await store.listEvents({ afterSeq: 9 });
      if (last === undefined) throw new Error('no event 10');
      const fields = {
        seq: 11,
        at: last.at,
        type: 'resource.alert' as const,
        sessionId: null,
        commandId: null,
        data: {},
      };
      const hash = hashEvent(last.hash, fields);
      await harness.tamper(
        `INSERT INTO events (seq, at, type, session_id, command_id, data, prev_hash, hash) VALUES (11, '${last.at}', 'resource.alert', NULL, NULL, '{}', '${last.hash}', '${hash}')`,
      );
      expect(await store.verify()).toMatchObject({ ok: false, seq: 11, problem: 'chain-broken' });
      expect((await rejectedAirlockError(store.commit({ events: [alert()] }))).code).toBe(
        'STORE_UNAVAILABLE',
      );
    });
  });

  it('keeps one chain when two stores on one storage append concurrently', async () => {
    const { store, open } = current();
    const other = await open();
    await Promise.all([
      (async () => {
        for (let i = 0; i < 50; i++) await store.commit({ events: [alert({ from: 'a', i })] });
      })(),
      (async () => {
        for (let i = 0; i < 50; i++) {
          await other.commit({ events: [alert({ from: 'b', i }), alert({ from: 'b', i, second: true })] });
        }
      })(),
    ]);
    const events = await other.listEvents({ limit: 10_000 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
    expect(events).toHaveLength(150);
    expect(await store.verify()).toMatchObject({ ok: true, checked: 150 });
  });
}

/** Signed checkpoints, and deciding an approval (one event, one winner), on any adapter. */
export function describeCheckpointsAndDecisions(current: () => ChainContext): void {
  describe('signed checkpoints', () => {
    let keys: { mine: AuditSigningKey; other: AuditSigningKey; remove(): void };

    beforeEach(() => {
      const dir = makeTempDir();
      keys = {
        mine: loadOrCreateAuditKey(join(dir.path, 'mine')),
        other: loadOrCreateAuditKey(join(dir.path, 'other')),
        remove: () => dir.remove(),
      };
    });
    afterEach(() => keys.remove());

    it('stores checkpoints once per (seq, key), finds the newest per key, and verifies their signatures', async () => {
      const { store } = current();
      const events = await appendMany(store, 4, 1);
      const head = (seq: number) => ({ seq, hash: events[seq - 1]?.hash ?? '' });
      const first = signCheckpoint(head(2), '2025-01-01T00:00:00.000Z', keys.mine);
      const second = signCheckpoint(head(4), '2025-01-01T00:00:01.000Z', keys.mine);
      await store.addCheckpoint(first);
      await store.addCheckpoint(second);
      await store.addCheckpoint(second);
      expect(await store.lastCheckpoint(keys.mine.keyId)).toStrictEqual(second);
      expect(await store.lastCheckpoint(keys.other.keyId)).toBeNull();
      expect(await store.verify({ trustedKeys: [keys.mine] })).toMatchObject({
        ok: true,
        checkpoints: { signaturesChecked: true, verified: 2, lastSeq: 4, unsignedEvents: 0 },
      });
      await store.addCheckpoint(signCheckpoint(head(3), '2025-01-01T00:00:02.000Z', keys.other));
      expect(await store.verify({ trustedKeys: [keys.mine] })).toMatchObject({
        ok: false,
        problem: 'untrusted-key',
        seq: 3,
      });
      expect(await store.verify({ trustedKeys: [keys.mine, keys.other] })).toMatchObject({
        ok: true,
        checkpoints: { verified: 3 },
      });
    });

    it('detects a chain rebuilt under a signed checkpoint (adversarial)', async () => {
      const { store, harness } = current();
      const events = await appendMany(store, 4, 1);
      await store.addCheckpoint(
        signCheckpoint({ seq: 4, hash: events[3]?.hash ?? '' }, FIXED.toISOString(), keys.mine),
      );
      const [third] = events.slice(2);
      if (third === undefined) throw new Error('no event 3');
      const forged = { ...third, data: { forged: true } };
      const hash3 = hashEvent(third.prevHash, forged);
      const fourth = events[3];
      if (fourth === undefined) throw new Error('no event 4');
      const hash4 = hashEvent(hash3, fourth);
      await harness.tamper(
        `UPDATE events SET data = '{"forged":true}', hash = '${hash3}' WHERE seq = 3; ` +
          `UPDATE events SET prev_hash = '${hash3}', hash = '${hash4}' WHERE seq = 4; ` +
          `UPDATE chain_head SET hash = '${hash4}' WHERE id = 1`,
      );
      expect(await store.verify({ trustedKeys: [keys.mine] })).toMatchObject({
        ok: false,
        problem: 'checkpoint-mismatch',
        seq: 4,
      });
    });
  });

  describe('decideApproval', () => {
    beforeEach(async () => {
      await current().store.commit({ sessions: [session('s1')], approvals: [approval('a1', 's1')] });
    });

    const decidedEvent = (updated: { id: string; status: string; sessionId: string }) => ({
      type: 'approval.decided' as const,
      sessionId: updated.sessionId,
      commandId: null,
      data: { approvalId: updated.id, status: updated.status },
    });

    it('lets exactly one of two deciders on two stores win', async () => {
      const { store, open } = current();
      const other = await open();
      const [first, second] = await Promise.all([
        store.decideApproval(
          'a1',
          { status: 'approved', decidedBy: 'alice', reason: null, remember: true, scope: null },
          decidedEvent,
        ),
        other.decideApproval(
          'a1',
          { status: 'denied', decidedBy: 'bob', reason: 'no', remember: false, scope: null },
          decidedEvent,
        ),
      ]);
      const winner = first?.decidedBy === 'alice' ? first : second;
      expect(winner?.decidedAt).not.toBeNull();
      // The loser sees the winner's decision, unchanged.
      expect(second).toStrictEqual(first);
      expect(await store.getApproval('a1')).toStrictEqual(first);
      const decided = await store.listEvents({ types: ['approval.decided'] });
      expect(decided).toHaveLength(1);
      expect(decided[0]?.data).toEqual({ approvalId: 'a1', status: first?.status });
    });

    it('returns null for an unknown approval and appends nothing', async () => {
      const { store } = current();
      const decision = {
        status: 'approved',
        decidedBy: 'alice',
        reason: null,
        remember: false,
        scope: null,
      } as const;
      expect(await store.decideApproval('nope', decision, decidedEvent)).toBeNull();
      expect(await store.listEvents()).toEqual([]);
    });

    it('rolls the decision back when building its event fails', async () => {
      const { store } = current();
      const decision = {
        status: 'approved',
        decidedBy: 'alice',
        reason: null,
        remember: false,
        scope: null,
      } as const;
      const failed = await rejectedAirlockError(
        store.decideApproval('a1', decision, () => {
          throw new AirlockError('INTERNAL', 'event builder broke');
        }),
      );
      expect(failed.code).toBe('INTERNAL');
      expect(await store.getApproval('a1')).toMatchObject({ status: 'pending', decidedBy: null });
      expect(await store.listEvents()).toEqual([]);
    });
  });
}
