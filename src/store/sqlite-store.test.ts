import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from './index.ts';
import { rawDatabase } from './audit-test-support.ts';
import { SCHEMA_VERSION } from './sqlite-schema.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { describeStoreConformance } from './store-conformance.ts';
import { alert, makeTempDir, session, type TempDir } from './test-support.ts';
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
    raw.exec('DROP TABLE audit_checkpoints; PRAGMA user_version = 1');
    raw.close();
    store = openSqliteStore({ path });
    expect(await store.verify()).toMatchObject({ ok: true, checked: 2, checkpoints: { verified: 0 } });
    expect(await store.lastCheckpoint('0'.repeat(64))).toBeNull();
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
