/**
 * The PostgreSQL store against a real, throw-away PostgreSQL (test/support/postgres.ts): the port's
 * conformance suite, then what only a server database has: migrations shared by nodes starting
 * together, writers on many connections at once, NOTIFY of decisions, a database that goes away.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../../test/support/postgres.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { connectStore, PG_SCHEMA_VERSION } from './index.ts';
import { APPROVAL_CHANNEL, openPostgresStore } from './pg-store.ts';
import { describeStoreConformance } from './store-conformance.ts';
import { alert, approval, command, session } from './test-support.ts';
import type { Store } from './types.ts';

const skip = postgresSkipReason();
let cluster: Promise<PostgresCluster> | undefined;
const server = (): Promise<PostgresCluster> => (cluster ??= startPostgres());

afterAll(async () => {
  await (await cluster?.catch(() => undefined))?.destroy();
}, 60_000);

async function run(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

describeStoreConformance({
  name: 'PostgreSQL',
  skip,
  harness: async () => {
    const url = await (
      await server()
    ).createDatabase(`conformance_${Date.now()}_${Math.random().toString(36).slice(2, 8)}`);
    return {
      open: (options = {}) => openPostgresStore({ url, ...options }),
      // Superuser: with replication role `replica`, ordinary triggers (the append-only guards) do not fire.
      tamper: (sql) => run(url, `SET session_replication_role = replica; ${sql}`),
      plain: (sql) => run(url, sql),
      remove: async () => undefined,
    };
  },
});

describe.skipIf(skip !== undefined)('PostgreSQL store (the server)', () => {
  let pgCluster: PostgresCluster;
  beforeAll(async () => {
    pgCluster = await server();
  }, 60_000);

  it('migrates once when several control planes open a new database together', async () => {
    const url = await pgCluster.createDatabase('migrate_together');
    const stores = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url })));
    try {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query('SELECT version FROM airlock_schema');
      await client.end();
      expect(rows).toEqual([{ version: PG_SCHEMA_VERSION }]);
      await stores[0]?.commit({ events: [alert()] });
      expect(await stores[3]?.verify()).toMatchObject({ ok: true, checked: 1 });
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('refuses a database written by a newer schema with INVALID_CONFIG, naming both versions', async () => {
    const url = await pgCluster.createDatabase('newer_schema');
    await (await openPostgresStore({ url })).close();
    await run(url, 'UPDATE airlock_schema SET version = 99');
    const error = await rejectedAirlockError(connectStore({ kind: 'postgres', url }, { baseDir: '/' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.details).toMatchObject({ schemaVersion: 99, supportedVersion: PG_SCHEMA_VERSION });
    expect(error.message).toMatch(/newer Airlock/);
  });

  it('brings a database from schema 2 up to date: its approvals kept, offering no grants; egress approvals stored', async () => {
    const url = await pgCluster.createDatabase('from_schema_2');
    const first = await openPostgresStore({ url });
    await first.commit({ sessions: [session('s1')], approvals: [approval('a1', 's1')] });
    await first.close();
    // Schema 2: approvals know commands and file writes only and have no grants; no tokens table.
    await run(
      url,
      'ALTER TABLE approvals DROP COLUMN grants; ALTER TABLE approvals DROP COLUMN scope; ' +
        'ALTER TABLE approvals DROP CONSTRAINT approvals_action_check; ' +
        "ALTER TABLE approvals ADD CONSTRAINT approvals_action_check CHECK (action IN ('command', 'write_file')); " +
        'DROP TABLE access_tokens; DROP INDEX commands_by_created; UPDATE airlock_schema SET version = 2',
    );
    const store = await openPostgresStore({ url });
    try {
      expect(await store.getApproval('a1')).toMatchObject({ id: 'a1', grants: [], scope: null });
      await store.commit({
        approvals: [approval('a2', 's1', { action: 'egress', subject: 'api.example.test:443' })],
      });
      expect((await store.getApproval('a2'))?.action).toBe('egress');
      expect(await store.listAccessTokens()).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('keeps one chain under many writers on many connections at once', async () => {
    const url = await pgCluster.createDatabase('many_writers');
    const stores: Store[] = await Promise.all(Array.from({ length: 4 }, () => openPostgresStore({ url })));
    try {
      // 4 stores × 8 connections, every commit in flight at once: the head row's lock orders them.
      await Promise.all(
        stores.flatMap((store, writer) =>
          Array.from({ length: 40 }, (_, i) =>
            store.commit({ events: [alert({ writer, i }), alert({ writer, i, second: true })] }),
          ),
        ),
      );
      const events = await stores[0]?.listEvents({ limit: 10_000 });
      expect(events).toHaveLength(320);
      expect(events?.map((e) => e.seq)).toEqual(events?.map((_, index) => index + 1));
      // The two events of one commit are always adjacent: a batch is never interleaved with another.
      for (let index = 0; index < 320; index += 2) {
        expect(events?.[index + 1]?.data).toMatchObject({ ...events?.[index]?.data, second: true });
      }
      expect(await stores[1]?.verify()).toMatchObject({ ok: true, checked: 320 });
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('writes commits made together in one transaction, each acknowledged with its own events', async () => {
    const url = await pgCluster.createDatabase('group_commit');
    const store = await openPostgresStore({ url });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          store.commit({ events: [alert({ i }), alert({ i, second: true })] }),
        ),
      );
      // Each caller gets exactly its own two events, adjacent in the one chain.
      results.forEach((events, i) => {
        expect(events.map((event) => event.data)).toEqual([{ i }, { i, second: true }]);
        expect(events[1]?.seq).toBe((events[0]?.seq ?? 0) + 1);
      });
      // Rows written by one transaction share its id (xmin): 100 commits, a handful of transactions.
      const groups = await client.query<{ n: number }>(
        'SELECT count(DISTINCT xmin::text)::int AS n FROM events',
      );
      expect(groups.rows[0]?.n).toBeLessThanOrEqual(5);
      expect(await store.verify()).toMatchObject({ ok: true, checked: 200 });
    } finally {
      await client.end();
      await store.close();
    }
  });

  it('leaves each row written by several commits of one group as the last of them wrote it', async () => {
    const url = await pgCluster.createDatabase('group_rows');
    const store = await openPostgresStore({ url });
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await store.commit({ sessions: [session('s1')] });
      // A command started and finished by commits made together, twenty times over, in one group.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => [
          store.commit({ commands: [command(`c${i}`, 's1', { state: 'running' })], events: [alert({ i })] }),
          store.commit({
            commands: [command(`c${i}`, 's1', { state: 'completed', exitCode: i })],
            sessions: [session('s1', { lastActiveAt: `2025-01-01T00:00:${String(10 + i)}.000Z` })],
          }),
        ]).flat(),
      );
      for (let i = 0; i < 20; i++) {
        expect(await store.getCommand(`c${i}`)).toMatchObject({ state: 'completed', exitCode: i });
      }
      expect((await store.getSession('s1'))?.lastActiveAt).toBe('2025-01-01T00:00:29.000Z');
      // Rows of one transaction share its id (xmin): forty commits, a handful of transactions.
      const groups = await client.query<{ n: number }>(
        'SELECT count(DISTINCT xmin::text)::int AS n FROM commands',
      );
      expect(groups.rows[0]?.n).toBeLessThanOrEqual(5);
      expect(await store.verify()).toMatchObject({ ok: true, checked: 20 });
    } finally {
      await client.end();
      await store.close();
    }
  });

  it('fails only the commit whose record the database refuses, not the others of its group', async () => {
    const url = await pgCluster.createDatabase('group_refused');
    const store = await openPostgresStore({ url });
    try {
      const good = Array.from({ length: 10 }, (_, i) =>
        store.commit({ sessions: [session(`s${i}`)], events: [alert({ i })] }),
      );
      // A command of a session that does not exist: the foreign key fails the transaction at COMMIT.
      const bad = store.commit({ commands: [command('c1', 'missing')], events: [alert({ bad: true })] });
      const error = await rejectedAirlockError(bad);
      expect(error.code).toBe('INTERNAL');
      expect((await Promise.all(good)).map((events) => events[0]?.data)).toEqual(
        Array.from({ length: 10 }, (_, i) => ({ i })),
      );
      expect(await store.getSession('s9')).not.toBeNull();
      expect(await store.getCommand('c1')).toBeNull();
      const events = await store.listEvents({ limit: 100 });
      expect(events.map((event) => event.data)).not.toContainEqual({ bad: true });
      expect(await store.verify()).toMatchObject({ ok: true, checked: 10 });
    } finally {
      await store.close();
    }
  });

  it('announces a decided approval on its channel when the decision commits', async () => {
    const url = await pgCluster.createDatabase('notify');
    const store = await openPostgresStore({ url });
    const listener = new pg.Client({ connectionString: url });
    await listener.connect();
    try {
      const heard: string[] = [];
      listener.on('notification', (message) => heard.push(`${message.channel}:${message.payload ?? ''}`));
      await listener.query(`LISTEN ${APPROVAL_CHANNEL}`);
      await store.commit({ sessions: [session('s1')], approvals: [approval('a1', 's1')] });
      expect(heard).toEqual([]);
      await store.decideApproval(
        'a1',
        { status: 'approved', decidedBy: 'c', reason: null, remember: false, scope: null },
        (updated) => ({
          type: 'approval.decided',
          sessionId: updated.sessionId,
          commandId: null,
          data: { approvalId: updated.id },
        }),
      );
      await expect.poll(() => heard, { timeout: 5000 }).toEqual([`${APPROVAL_CHANNEL}:a1`]);
    } finally {
      await listener.end();
      await store.close();
    }
  });

  it('answers STORE_UNAVAILABLE while the database is down, and works again when it is back', async () => {
    const url = await pgCluster.createDatabase('goes_away');
    const store = await openPostgresStore({ url, connectTimeoutMs: 1000 });
    try {
      await store.commit({ events: [alert({ n: 1 })] });
      await pgCluster.stop();
      const error = await rejectedAirlockError(store.commit({ events: [alert({ n: 2 })] }));
      expect(error.code).toBe('STORE_UNAVAILABLE');
      expect(error.message).not.toMatch(/password/);
      await pgCluster.start();
      await expect
        .poll(async () => (await store.commit({ events: [alert({ n: 3 })] })).length, { timeout: 10_000 })
        .toBe(1);
      expect(await store.verify()).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await store.close();
    }
  });

  it('refuses a URL whose database does not exist as STORE_UNAVAILABLE with the password hidden', async () => {
    const url = pgCluster.url('no_such_database').replace('airlock@', 'airlock:hunter2@');
    const error = await rejectedAirlockError(openPostgresStore({ url }));
    expect(error.code).toBe('STORE_UNAVAILABLE');
    expect(error.message).toContain('does not exist');
    expect(error.message).not.toContain('hunter2');
  });
});
