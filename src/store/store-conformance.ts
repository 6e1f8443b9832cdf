/**
 * The `Store` port's conformance suite: what every adapter must do, run against SQLite and PostgreSQL
 * alike (sqlite-store.test.ts, pg-store.test.ts). Each adapter gives a harness: fresh storage per test,
 * a way to open more stores on it (two writers), and a raw connection with the append-only guards
 * dropped, as an attacker with write access to the database has.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { describeChain, describeCheckpointsAndDecisions, FIXED } from './store-conformance-chain.ts';
import { describeDashboardReads } from './store-conformance-dashboard.ts';
import { alert, approval, command, output, session } from './test-support.ts';
import type { SessionRecord, Store } from './types.ts';

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
    describeOutputs(() => store);
    describeChain(() => ({ store, harness, open }));
    describeCheckpointsAndDecisions(() => ({ store, harness, open }));
    describeDashboardReads(() => store);

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
}

/** Outputs (paging, pruning, the per-session budget) and event query arguments. */
function describeOutputs(current: () => Store): void {
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
