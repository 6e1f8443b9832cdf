import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { rawDatabase } from './audit-test-support.ts';
import { SCHEMA_VERSION } from './sqlite-schema.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { describeStoreConformance } from './store-conformance.ts';
import { alert, approval, command, makeTempDir, session, type TempDir } from './test-support.ts';
import type { Store } from './types.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';

describeStoreConformance({
  name: 'SQLite',
  harness: async () => {
    const dir = makeTempDir();
    const path = join(dir.path, 'airlock.db');
    const run = (db: DatabaseSync, sql: string): void => {
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    };
    return {
      open: async (options = {}) => openSqliteStore({ path, ...options }),
      tamper: async (sql) => run(rawDatabase(path), sql),
      plain: async (sql) => run(new DatabaseSync(path), sql),
      remove: async () => dir.remove(),
    };
  },
});

describe('SQLite store (the file)', () => {
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
        'ALTER TABLE approvals DROP COLUMN scope; DROP TABLE access_tokens; DROP INDEX commands_by_created; ' +
        'PRAGMA user_version = 1',
    );
    raw.close();
    store = openSqliteStore({ path });
    expect(await store.verify()).toMatchObject({ ok: true, checked: 2, checkpoints: { verified: 0 } });
    expect(await store.lastCheckpoint('0'.repeat(64))).toBeNull();
  });

  it('brings a store from schema 2 up to date: its approvals kept, offering no grants; egress approvals and scoped grants stored', async () => {
    await store.commit({
      sessions: [session('s1')],
      commands: [command('c1', 's1')],
      approvals: [approval('a1', 's1', { commandId: 'c1' })],
    });
    await store.close();
    const raw = new DatabaseSync(path);
    // Schema 2's approvals table: its CHECK knows commands and file writes only, and it has no grants.
    raw.exec(`
      CREATE TABLE old_approvals AS SELECT id, session_id, command_id, action, subject, parsed, reasons,
        status, created_at, expires_at, decided_at, decided_by, decision_reason, remember FROM approvals;
      DROP TABLE approvals;
      CREATE TABLE approvals (
        id TEXT PRIMARY KEY NOT NULL, session_id TEXT NOT NULL, command_id TEXT,
        action TEXT NOT NULL CHECK (action IN ('command', 'write_file')), subject TEXT NOT NULL,
        parsed TEXT NOT NULL, reasons TEXT NOT NULL, status TEXT NOT NULL, created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL, decided_at TEXT, decided_by TEXT, decision_reason TEXT,
        remember INTEGER NOT NULL) STRICT;
      INSERT INTO approvals SELECT * FROM old_approvals;
      DROP TABLE old_approvals;
      DROP TABLE access_tokens;
      DROP INDEX commands_by_created;
      PRAGMA user_version = 2;
    `);
    raw.close();
    store = openSqliteStore({ path });
    expect(await store.getApproval('a1')).toMatchObject({
      id: 'a1',
      commandId: 'c1',
      grants: [],
      scope: null,
    });
    await store.commit({
      approvals: [approval('a2', 's1', { action: 'egress', subject: 'api.example.test:443' })],
    });
    expect((await store.getApproval('a2'))?.action).toBe('egress');
    const granted = approval('a4', 's1', { grants: [{ scope: 'program', covers: ['npm'] }] });
    await store.commit({ approvals: [granted] });
    const decided = await store.decideApproval(
      'a4',
      { status: 'approved', decidedBy: 'alice', reason: null, remember: true, scope: 'program' },
      (updated) => ({ type: 'approval.decided', sessionId: 's1', commandId: null, data: { id: updated.id } }),
    );
    expect(decided).toMatchObject({ scope: 'program', grants: [{ scope: 'program', covers: ['npm'] }] });
    // Adversarial: the new table still refuses an action nobody defined.
    await expect(
      store.commit({ approvals: [approval('a3', 's1', { action: 'shell' as 'egress' })] }),
    ).rejects.toThrow();
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
});
