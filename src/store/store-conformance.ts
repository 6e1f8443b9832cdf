/**
 * The `Store` port's conformance suite: what every adapter must do, run against SQLite and PostgreSQL
 * alike (sqlite-store.test.ts, pg-store.test.ts). Each adapter gives a harness: fresh storage per test,
 * a way to open more stores on it (two writers), and a raw connection with the append-only guards
 * dropped, as an attacker with write access to the database has.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { hashEvent } from './audit-chain.ts';
import { signCheckpoint, type AuditSigningKey } from './audit-checkpoint.ts';
import { loadOrCreateAuditKey } from './audit-key.ts';
import { alert, approval, command, makeTempDir, output, session } from './test-support.ts';
import type { AuditEvent, SessionRecord, Store } from './types.ts';

export interface StoreHarness {
  /** Another store on the same storage (the first one is made by the suite with a fixed clock). */
  open(options?: { readonly now?: () => Date }): Promise<Store>;
  /** Runs SQL on the storage with the append-only guards dropped. */
  tamper(sql: string): Promise<void>;
  /** Runs SQL on the storage as any plain client would, guards in place. */
  plain(sql: string): Promise<void>;
  /** Removes the storage once every store on it is closed. */
  remove(): Promise<void>;
}

export interface StoreConformanceOptions {
  readonly name: string;
  readonly harness: () => Promise<StoreHarness>;
  /** Why the adapter cannot run here; the suite is skipped with it. */
  readonly skip?: string | undefined;
}

const FIXED = new Date('2025-02-03T04:05:06.789Z');

export async function appendMany(store: Store, commits: number, perCommit: number): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (let i = 0; i < commits; i++) {
    const events = Array.from({ length: perCommit }, (_, j) => alert({ i, j, text: `cmd ${i}/${j} 😀` }));
    all.push(...(await store.commit({ events })));
  }
  return all;
}

export function describeStoreConformance(options: StoreConformanceOptions): void {
  describe.skipIf(options.skip !== undefined)(`${options.name} store (the Store port)`, () => {
    let harness: StoreHarness;
    let store: Store;
    const others: Store[] = [];
    const open = async (): Promise<Store> => {
      const another = await harness.open();
      others.push(another);
      return another;
    };

    beforeEach(async () => {
      harness = await options.harness();
      store = await harness.open({ now: () => FIXED });
    });

    afterEach(async () => {
      for (const another of others.splice(0)) await another.close();
      await store.close();
      await harness.remove();
    });

    describeRecords(() => store);
    describeChain(() => ({ store, harness, open }));

    it('closes idempotently and refuses use after close with INTERNAL', async () => {
      await store.close();
      await store.close();
      expect((await rejectedAirlockError(store.commit({ events: [alert()] }))).code).toBe('INTERNAL');
      expect((await rejectedAirlockError(store.listEvents())).code).toBe('INTERNAL');
      expect((await rejectedAirlockError(store.verify())).code).toBe('INTERNAL');
    });
  });
}

function describeRecords(current: () => Store): void {
  it('round-trips every record type exactly, nulls, booleans, NUL characters and arrays included', async () => {
    const store = current();
    const s1 = session('s1');
    const s2 = session('s2', {
      state: 'ended',
      sandboxId: 'sb-9',
      expiresAt: '2025-01-02T00:00:00.000Z',
      endedAt: '2025-01-01T01:00:00.000Z',
      endReason: 'destroyed',
      spec: {},
    });
    const c1 = command('c1', 's1', { command: 'printf "a\\0b" # \u0000 and ü😀' });
    const c2 = command('c2', 's1', {
      state: 'completed',
      background: true,
      decision: 'ask',
      reasons: ['writes outside the workspace', 'ü😀'],
      approvalId: 'a1',
      exitCode: 0,
      signal: 'SIGTERM',
      outputId: 'o1',
      startedAt: '2025-01-01T00:00:04.000Z',
      finishedAt: '2025-01-01T00:00:05.000Z',
      durationMs: 1000.5,
    });
    const a1 = approval('a1', 's1', { commandId: 'c2', action: 'write_file', remember: true, parsed: [] });
    const o1 = output('o1', 's1', 'c2', { stderr: 'warn\u0000😀', stderrTotalBytes: 123456789 });
    await store.commit({ sessions: [s1, s2], commands: [c1, c2], approvals: [a1], outputs: [o1] });

    expect(await store.getSession('s1')).toStrictEqual(s1);
    expect(await store.getSession('s2')).toStrictEqual(s2);
    expect(await store.getCommand('c1')).toStrictEqual(c1);
    expect(await store.getCommand('c2')).toStrictEqual(c2);
    expect(await store.getApproval('a1')).toStrictEqual(a1);
    expect(await store.getOutput('o1')).toStrictEqual(o1);
    expect(await store.getSession('nope')).toBeNull();
    expect(await store.getCommand('nope')).toBeNull();
    expect(await store.getApproval('nope')).toBeNull();
    expect(await store.getOutput('nope')).toBeNull();
  });

  it('upserts: a second commit of the same id replaces the record', async () => {
    const store = current();
    await store.commit({ sessions: [session('s1')], commands: [command('c1', 's1')] });
    const running = command('c1', 's1', { state: 'running', startedAt: '2025-01-01T00:00:02.000Z' });
    await store.commit({ commands: [running] });
    expect(await store.getCommand('c1')).toStrictEqual(running);
    expect(await store.listCommands({})).toHaveLength(1);
  });

  it('filters lists, and an empty list of states matches nothing', async () => {
    const store = current();
    await store.commit({
      sessions: [session('s1'), session('s2', { state: 'ended', createdAt: '2025-01-01T00:00:09.000Z' })],
      commands: [command('c1', 's1'), command('c2', 's1', { state: 'running' }), command('c3', 's2')],
      approvals: [approval('a1', 's1'), approval('a2', 's2', { status: 'denied' })],
    });
    expect((await store.listSessions()).map((s) => s.id)).toEqual(['s1', 's2']);
    expect((await store.listSessions({ state: 'ended' })).map((s) => s.id)).toEqual(['s2']);
    expect((await store.listSessions({ limit: 1 })).map((s) => s.id)).toEqual(['s2']);
    expect((await store.listCommands({ sessionId: 's1' })).map((c) => c.id)).toEqual(['c1', 'c2']);
    expect((await store.listCommands({ states: ['running', 'proposed'] })).map((c) => c.id)).toEqual([
      'c1',
      'c2',
      'c3',
    ]);
    expect((await store.listCommands({ sessionId: 's2', states: ['proposed'] })).map((c) => c.id)).toEqual([
      'c3',
    ]);
    expect(await store.listCommands({ states: [] })).toEqual([]);
    expect((await store.listApprovals({ status: 'pending' })).map((a) => a.id)).toEqual(['a1']);
    expect((await store.listApprovals({ sessionId: 's2' })).map((a) => a.id)).toEqual(['a2']);
    expect((await rejectedAirlockError(store.listSessions({ limit: 0 }))).code).toBe('INVALID_ARGUMENT');
  });

  describe('commit atomicity', () => {
    const failing: [string, () => Parameters<Store['commit']>[0]][] = [
      [
        'a second session violating a CHECK constraint',
        () => ({
          sessions: [session('s1'), { ...session('s2'), state: 'bogus' } as unknown as SessionRecord],
          events: [alert()],
        }),
      ],
      [
        'a command whose session does not exist (a foreign key checked at COMMIT)',
        () => ({
          sessions: [session('s1')],
          commands: [command('c1', 's1'), command('c2', 'missing')],
          events: [alert()],
        }),
      ],
      [
        'a record holding a value JSON cannot represent',
        () => ({ sessions: [session('s1'), session('s2', { spec: { n: Number.NaN } })], events: [alert()] }),
      ],
      [
        'an event of an unknown type',
        () => ({
          sessions: [session('s1')],
          events: [alert(), { ...alert(), type: 'nope' as 'resource.alert' }],
        }),
      ],
    ];

    it('has failing batches to check', () => {
      expect(failing.length).toBeGreaterThan(0);
    });

    it.each(failing)(
      'stores nothing when the batch has %s, and refuses it as INTERNAL',
      async (_name, batch) => {
        const store = current();
        await store.commit({ events: [alert({ before: true })] });
        expect((await rejectedAirlockError(store.commit(batch()))).code).toBe('INTERNAL');
        expect(await store.listSessions()).toEqual([]);
        expect(await store.listCommands({})).toEqual([]);
        expect((await store.listEvents()).map((e) => e.seq)).toEqual([1]);
        const next = await store.commit({ events: [alert({ after: true })] });
        expect(next.map((e) => e.seq)).toEqual([2]);
        expect(await store.verify()).toMatchObject({ ok: true, checked: 2 });
      },
    );
  });

  describe('readOutput', () => {
    const text = `start ${'😀'.repeat(50)} middle \u{1f469}\u200d\u{1f4bb} ${'x😀'.repeat(30)} end`;

    beforeEach(async () => {
      await current().commit({
        sessions: [session('s1')],
        commands: [command('c1', 's1')],
        outputs: [output('o1', 's1', 'c1', { stdout: text, stderr: 'err' })],
      });
    });

    it('pages text with emoji back exactly, naming its session', async () => {
      const store = current();
      for (const limit of [1, 3, 7, 64]) {
        let offset: number | null = 0;
        let joined = '';
        while (offset !== null) {
          const page = await store.readOutput('o1', { stream: 'stdout', offset, limit });
          if (page === null) throw new Error('output vanished');
          expect(page.totalChars).toBe(text.length);
          expect(page.sessionId).toBe('s1');
          joined += page.text;
          offset = page.nextOffset;
        }
        expect(joined, `limit ${limit}`).toBe(text);
      }
      expect(await store.readOutput('o1', { stream: 'stderr', offset: 0, limit: 10 })).toMatchObject({
        text: 'err',
        nextOffset: null,
      });
      expect(await store.readOutput('nope', { stream: 'stdout', offset: 0, limit: 10 })).toBeNull();
    });

    const badPages: [string, number, number][] = [
      ['offset', -1, 10],
      ['offset', 1.5, 10],
      ['offset', Number.NaN, 10],
      ['limit', 0, 0],
      ['limit', 0, -5],
      ['limit', 0, 1_000_001],
      ['limit', 0, Number.POSITIVE_INFINITY],
    ];

    it.each(badPages)(
      'refuses a bad %s (offset %d, limit %d) with INVALID_ARGUMENT',
      async (field, offset, limit) => {
        const error = await rejectedAirlockError(
          current().readOutput('o1', { stream: 'stdout', offset, limit }),
        );
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(error.details['field']).toBe(field);
      },
    );
  });

  it('refuses bad event query arguments with INVALID_ARGUMENT naming the field', async () => {
    const cases: [string, Parameters<Store['listEvents']>[0]][] = [
      ['limit', { limit: 10_001 }],
      ['limit', { limit: 0 }],
      ['afterSeq', { afterSeq: -1 }],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [field, query] of cases) {
      const error = await rejectedAirlockError(current().listEvents(query));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details['field']).toBe(field);
    }
  });

  it('prunes outputs of sessions that ended before the cutoff only', async () => {
    const store = current();
    await store.commit({
      sessions: [
        session('old', { state: 'ended', endedAt: '2025-01-01T00:00:00.000Z' }),
        session('recent', { state: 'ended', endedAt: '2025-03-01T00:00:00.000Z' }),
        session('live'),
      ],
      commands: [command('c1', 'old'), command('c2', 'recent'), command('c3', 'live')],
      outputs: [output('o1', 'old', 'c1'), output('o2', 'recent', 'c2'), output('o3', 'live', 'c3')],
    });
    expect(await store.pruneOutputs('2025-02-01T00:00:00.000Z')).toBe(1);
    expect(await store.getOutput('o1')).toBeNull();
    expect(await store.getOutput('o2')).not.toBeNull();
    expect(await store.getOutput('o3')).not.toBeNull();
    expect((await rejectedAirlockError(store.pruneOutputs('not a time'))).code).toBe('INVALID_ARGUMENT');
  });

  it("trims a session's oldest outputs past its budget, always keeping the newest, never another session's", async () => {
    const store = current();
    const sized = (id: string, sessionId: string, commandId: string, chars: number, createdAt: string) => ({
      ...output(id, sessionId, commandId),
      stdout: 'x'.repeat(chars),
      stderr: '',
      createdAt,
    });
    await store.commit({
      sessions: [session('busy'), session('other')],
      commands: [command('k1', 'busy'), command('k2', 'busy'), command('k3', 'busy'), command('k4', 'other')],
      outputs: [
        sized('p1', 'busy', 'k1', 400, '2025-01-01T00:00:01.000Z'),
        sized('p2', 'busy', 'k2', 400, '2025-01-01T00:00:02.000Z'),
        sized('p3', 'busy', 'k3', 400, '2025-01-01T00:00:03.000Z'),
        sized('p4', 'other', 'k4', 400, '2025-01-01T00:00:00.000Z'),
      ],
    });
    expect(await store.trimSessionOutputs('busy', 1000)).toBe(1);
    expect(await store.getOutput('p1')).toBeNull();
    expect(await store.getOutput('p2')).not.toBeNull();
    expect(await store.getOutput('p4')).not.toBeNull();
    // A budget smaller than the newest output still keeps that one.
    expect(await store.trimSessionOutputs('busy', 10)).toBe(1);
    expect(await store.getOutput('p3')).not.toBeNull();
    expect(await store.getOutput('p2')).toBeNull();
    expect((await rejectedAirlockError(store.trimSessionOutputs('busy', -1))).code).toBe('INVALID_ARGUMENT');
  });
}

interface ChainContext {
  readonly store: Store;
  readonly harness: StoreHarness;
  open(): Promise<Store>;
}

function describeChain(current: () => ChainContext): void {
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
          { status: 'approved', decidedBy: 'alice', reason: null, remember: true },
          decidedEvent,
        ),
        other.decideApproval(
          'a1',
          { status: 'denied', decidedBy: 'bob', reason: 'no', remember: false },
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
      const decision = { status: 'approved', decidedBy: 'alice', reason: null, remember: false } as const;
      expect(await store.decideApproval('nope', decision, decidedEvent)).toBeNull();
      expect(await store.listEvents()).toEqual([]);
    });

    it('rolls the decision back when building its event fails', async () => {
      const { store } = current();
      const decision = { status: 'approved', decidedBy: 'alice', reason: null, remember: false } as const;
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
