import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { SCHEMA_VERSION } from './sqlite-schema.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { alert, approval, command, makeTempDir, output, session, type TempDir } from './test-support.ts';
import type { SessionRecord, Store } from './types.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';

describe('SQLite store', () => {
  let dir: TempDir;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = makeTempDir();
    path = join(dir.path, 'airlock.db');
    store = openSqliteStore({ path, now: () => new Date('2025-02-03T04:05:06.789Z') });
  });

  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('round-trips every record type exactly, nulls, booleans and arrays included', async () => {
    const s1 = session('s1');
    const s2 = session('s2', {
      state: 'ended',
      sandboxId: 'sb-9',
      expiresAt: '2025-01-02T00:00:00.000Z',
      endedAt: '2025-01-01T01:00:00.000Z',
      endReason: 'destroyed',
      spec: {},
    });
    const c1 = command('c1', 's1');
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
    await store.commit({ sessions: [session('s1')], commands: [command('c1', 's1')] });
    const running = command('c1', 's1', { state: 'running', startedAt: '2025-01-01T00:00:02.000Z' });
    await store.commit({ commands: [running] });
    expect(await store.getCommand('c1')).toStrictEqual(running);
    expect(await store.listCommands({})).toHaveLength(1);
  });

  it('filters lists, and an empty list of states matches nothing', async () => {
    await store.commit({
      sessions: [session('s1'), session('s2', { state: 'ended', createdAt: '2025-01-01T00:00:09.000Z' })],
      commands: [command('c1', 's1'), command('c2', 's1', { state: 'running' }), command('c3', 's2')],
      approvals: [approval('a1', 's1'), approval('a2', 's2', { status: 'denied' })],
    });
    expect((await store.listSessions()).map((s) => s.id)).toEqual(['s1', 's2']);
    expect((await store.listSessions({ state: 'ended' })).map((s) => s.id)).toEqual(['s2']);
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
  });

  it('appends events with seq, the store clock and a hash chain, and lists them oldest first', async () => {
    const appended = await store.commit({
      events: [
        alert({ n: 1 }),
        { type: 'session.created', sessionId: 's1', commandId: null, data: { driver: 'bwrap' } },
      ],
    });
    expect(appended.map((e) => [e.seq, e.at])).toEqual([
      [1, '2025-02-03T04:05:06.789Z'],
      [2, '2025-02-03T04:05:06.789Z'],
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

  describe('commit atomicity', () => {
    const failing: [string, () => Parameters<Store['commit']>[0], string][] = [
      [
        'a second session violating a CHECK constraint',
        () => ({
          sessions: [session('s1'), { ...session('s2'), state: 'bogus' } as unknown as SessionRecord],
          events: [alert()],
        }),
        'INTERNAL',
      ],
      [
        'a command whose session does not exist (a foreign key checked at COMMIT)',
        () => ({
          sessions: [session('s1')],
          commands: [command('c1', 's1'), command('c2', 'missing')],
          events: [alert()],
        }),
        'INTERNAL',
      ],
      [
        'a record holding a value JSON cannot represent',
        () => ({ sessions: [session('s1'), session('s2', { spec: { n: Number.NaN } })], events: [alert()] }),
        'INTERNAL',
      ],
      [
        'an event of an unknown type',
        () => ({
          sessions: [session('s1')],
          events: [alert(), { ...alert(), type: 'nope' as 'resource.alert' }],
        }),
        'INTERNAL',
      ],
    ];

    it('has failing batches to check', () => {
      expect(failing.length).toBeGreaterThan(0);
    });

    it.each(failing)('stores nothing when the batch has %s', async (_name, batch, code) => {
      await store.commit({ events: [alert({ before: true })] });
      expect((await rejectedAirlockError(store.commit(batch()))).code).toBe(code);
      expect(await store.listSessions()).toEqual([]);
      expect(await store.listCommands({})).toEqual([]);
      expect((await store.listEvents()).map((e) => e.seq)).toEqual([1]);
      const next = await store.commit({ events: [alert({ after: true })] });
      expect(next.map((e) => e.seq)).toEqual([2]);
      expect(await store.verify()).toMatchObject({ ok: true, checked: 2 });
    });
  });

  it('creates its directory 0700 and the database, WAL and shared-memory files 0600', async () => {
    const nested = join(dir.path, 'state', 'deep', 'audit.db');
    const other = openSqliteStore({ path: nested });
    try {
      await other.commit({ events: [alert()] });
      expect(statSync(join(dir.path, 'state')).mode & 0o777).toBe(0o700);
      expect(statSync(join(dir.path, 'state', 'deep')).mode & 0o777).toBe(0o700);
      for (const file of [nested, `${nested}-wal`, `${nested}-shm`]) {
        expect(existsSync(file), file).toBe(true);
        expect(statSync(file).mode & 0o777, file).toBe(0o600);
      }
    } finally {
      await other.close();
    }
  });

  it('refuses a store written by a newer schema with INVALID_CONFIG', async () => {
    await store.close();
    const raw = new DatabaseSync(path);
    raw.exec('PRAGMA user_version = 99');
    raw.close();
    const error = await rejectedAirlockError(() => openSqliteStore({ path }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.details).toMatchObject({ schemaVersion: 99, supportedVersion: SCHEMA_VERSION });
  });

  it('brings a store from before signed checkpoints (schema 1) up to date, keeping its events', async () => {
    await store.commit({ events: [alert({ n: 1 }), alert({ n: 2 })] });
    await store.close();
    const raw = new DatabaseSync(path);
    raw.exec(
      'DROP TABLE audit_checkpoints; ALTER TABLE approvals DROP COLUMN grants; ' +
        'ALTER TABLE approvals DROP COLUMN scope; PRAGMA user_version = 1',
    );
    raw.close();
    store = openSqliteStore({ path });
    expect(await store.verify()).toMatchObject({ ok: true, checked: 2, checkpoints: { verified: 0 } });
    expect(await store.lastCheckpoint('0'.repeat(64))).toBeNull();
  });

  it('brings a store from before scoped approvals (schema 2) up to date: old requests offered no grants', async () => {
    await store.commit({ sessions: [session('s1')], approvals: [approval('a1', 's1')] });
    await store.close();
    const raw = new DatabaseSync(path);
    raw.exec(
      'ALTER TABLE approvals DROP COLUMN grants; ALTER TABLE approvals DROP COLUMN scope; PRAGMA user_version = 2',
    );
    raw.close();
    store = openSqliteStore({ path });
    expect(await store.getApproval('a1')).toMatchObject({ id: 'a1', grants: [], scope: null });
    const granted = approval('a2', 's1', { grants: [{ scope: 'program', covers: ['npm'] }] });
    await store.commit({ approvals: [granted] });
    const decided = await store.decideApproval(
      'a2',
      { status: 'approved', decidedBy: 'alice', reason: null, remember: true, scope: 'program' },
      (updated) => ({ type: 'approval.decided', sessionId: 's1', commandId: null, data: { id: updated.id } }),
    );
    expect(decided).toMatchObject({ scope: 'program', grants: [{ scope: 'program', covers: ['npm'] }] });
  });

  it('reports a file that is not a database as STORE_UNAVAILABLE', async () => {
    const garbage = join(dir.path, 'garbage.db');
    writeFileSync(garbage, 'this is not a SQLite database, it only looks like a file'.repeat(100));
    expect((await rejectedAirlockError(() => openSqliteStore({ path: garbage }))).code).toBe(
      'STORE_UNAVAILABLE',
    );
  });

  it('reports a write lock held past the busy timeout as STORE_UNAVAILABLE, then recovers', async () => {
    const quick = openSqliteStore({ path, busyTimeoutMs: 50 });
    const locker = new DatabaseSync(path);
    try {
      locker.exec('BEGIN IMMEDIATE');
      expect((await rejectedAirlockError(quick.commit({ events: [alert()] }))).code).toBe(
        'STORE_UNAVAILABLE',
      );
      locker.exec('ROLLBACK');
      expect((await quick.commit({ events: [alert()] })).map((e) => e.seq)).toEqual([1]);
    } finally {
      locker.close();
      await quick.close();
    }
  });

  it('closes idempotently and refuses use after close with INTERNAL', async () => {
    await store.close();
    await store.close();
    expect((await rejectedAirlockError(store.commit({ events: [alert()] }))).code).toBe('INTERNAL');
    expect((await rejectedAirlockError(store.listEvents())).code).toBe('INTERNAL');
    expect((await rejectedAirlockError(store.verify())).code).toBe('INTERNAL');
  });

  it('works in memory', async () => {
    const memory = openSqliteStore({ path: ':memory:' });
    await memory.commit({ sessions: [session('s1')], events: [alert(), alert()] });
    expect(await memory.getSession('s1')).toStrictEqual(session('s1'));
    expect(await memory.verify()).toMatchObject({ ok: true, checked: 2 });
    await memory.close();
  });

  it('openStore resolves a relative path against baseDir', async () => {
    const opened = openStore({ kind: 'sqlite', path: 'sub/relative.db' }, { baseDir: dir.path });
    await opened.commit({ events: [alert()] });
    await opened.close();
    expect(existsSync(join(dir.path, 'sub', 'relative.db'))).toBe(true);
  });

  describe('readOutput', () => {
    const text = `start ${'😀'.repeat(50)} middle \u{1f469}\u200d\u{1f4bb} ${'x😀'.repeat(30)} end`;

    beforeEach(async () => {
      await store.commit({
        sessions: [session('s1')],
        commands: [command('c1', 's1')],
        outputs: [output('o1', 's1', 'c1', { stdout: text, stderr: 'err' })],
      });
    });

    it('pages text with emoji back exactly', async () => {
      for (const limit of [1, 3, 7, 64]) {
        let offset: number | null = 0;
        let joined = '';
        while (offset !== null) {
          const page = await store.readOutput('o1', { stream: 'stdout', offset, limit });
          if (page === null) throw new Error('output vanished');
          expect(page.totalChars).toBe(text.length);
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
        const error = await rejectedAirlockError(store.readOutput('o1', { stream: 'stdout', offset, limit }));
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
      const error = await rejectedAirlockError(store.listEvents(query));
      expect(error.code).toBe('INVALID_ARGUMENT');
      expect(error.details['field']).toBe(field);
    }
  });

  it('prunes outputs of sessions that ended before the cutoff only', async () => {
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
  });
});
