import pg from 'pg';
import type { PoolClient } from 'pg';
import { redactStoreUrl } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { pageText, validatePageRequest } from './output-page.ts';
import { appendEvents } from './pg-append.ts';
import { isRetryablePgError, toPgStoreError } from './pg-errors.ts';
import { createGroupCommit, type GroupCommit, type PendingCommit } from './pg-group-commit.ts';
import { plainStore } from './pg-plain-store.ts';
import { PG_NOW_ISO, pgTypes, pgUpsert, pgUpsertBatches, pgValues, rowOf } from './pg-rows.ts';
import { createPgDashboardReads, type PgDashboardReads } from './pg-dashboard-reads.ts';
import { createPgReads, type PgReads } from './pg-reads.ts';
import { migratePostgres } from './pg-schema.ts';
import { verifyPgChain } from './pg-verify.ts';
import { accessTokenParams } from './sqlite-access-tokens.ts';
import { validateEventInput } from './sqlite-events.ts';
import {
  approvalFromRow,
  approvalParams,
  decidedApproval,
  commandParams,
  outputParams,
  sessionParams,
} from './sqlite-rows.ts';
import type {
  ApprovalRecord,
  AuditEvent,
  AuditEventInput,
  Store,
  StoreBatch,
  VerifyOptions,
} from './types.ts';

export interface PostgresStoreOptions {
  /** `postgres://user[:password]@host[:port]/database[?options]`. */
  readonly url: string;
  /** The store's clock for event times and decisions; default the database's clock. */
  readonly now?: () => Date;
  /** Connections this store keeps at most (default 16). */
  readonly poolSize?: number;
  /**
   * How long getting a connection may take, a new one or a free one of the pool, before the store
   * counts as unavailable (default 15000). Appends wait their turn for the chain's head row while
   * holding a connection, so under a burst of commands from every node a free connection can take
   * seconds; failing then would fail a command that was only queued.
   */
  readonly connectTimeoutMs?: number;
  /** Group commit (pg-group-commit.ts): commits per transaction at most (default 256; 1 turns it off). */
  readonly maxCommitsPerGroup?: number;
  /** Group commit: how long a commit on an idle store waits for others to join it (default 2 ms). */
  readonly groupWindowMs?: number;
}

/** The PostgreSQL store: the `Store` port plus what a cluster of control planes needs of it. */
export interface PostgresStore extends Store {
  readonly kind: 'postgres';
  /** The database URL without its password, for messages. */
  readonly where: string;
  /** Runs work in one transaction on one connection (for src/cluster and the store migration). */
  transaction<T>(operation: string, work: (client: PoolClient) => Promise<T>): Promise<T>;
  /** One query outside a transaction. */
  query(operation: string, text: string, values?: readonly unknown[]): Promise<Record<string, unknown>[]>;
  /**
   * One query on a connection of its own, never queued behind the commits: a cluster's heartbeat must
   * not wait for a pool busy with a burst of commands, or a node that is only busy would be declared lost.
   */
  controlQuery(
    operation: string,
    text: string,
    values?: readonly unknown[],
  ): Promise<Record<string, unknown>[]>;
}

/** The channel a decided approval is announced on (NOTIFY), delivered when its transaction commits. */
export const APPROVAL_CHANNEL = 'airlock_approvals';

/** Attempts of a transaction PostgreSQL aborted to break a deadlock or a serialization conflict. */
const MAX_ATTEMPTS = 4;
/** A statement running longer than this is cancelled: a hung database fails a request, not the node. */
const STATEMENT_TIMEOUT_MS = 30_000;
/**
 * Group commit defaults: a group of 256 commits is a few thousand rows, well inside one transaction and
 * the statement timeout; 2 ms is short next to a WAL flush and the command it records.
 */
const MAX_COMMITS_PER_GROUP = 256;
const GROUP_WINDOW_MS = 2;

/**
 * Opens the PostgreSQL store: a connection pool, and the schema migrated (under an advisory lock, so
 * several control planes starting together migrate once). Refuses a database a newer Airlock wrote.
 *
 * Audit appends from every connection and every node form one chain because each append locks the
 * chain-head row (`SELECT … FOR UPDATE`) in the transaction that inserts the events and moves the head.
 * A row lock rather than an advisory lock: it is held exactly as long as the transaction and released by
 * COMMIT, ROLLBACK or a dropped connection (a killed node never leaves it held); it sits on the very row
 * the append changes, so no code path can move the head without it; and it is a plain transactional
 * lock that works the same behind a transaction-pooling proxy, where a session-level advisory lock
 * would not. It is taken last in the transaction, after the records are written, so appends are
 * serialised only for the few milliseconds of the insert and the commit; and a node's commits go in
 * groups (pg-group-commit.ts), so it takes the lock and waits for a flush once per group, not per commit.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<PostgresStore> {
  const where = redactStoreUrl(options.url);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 16,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 15_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'airlock',
    types: pgTypes,
  });
  // An idle connection that breaks (the server restarted) is reported here; the next query gets a new
  // one. Without a listener the pool's error would end the process.
  pool.on('error', () => undefined);
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw toPgStoreError(error, { where, operation: 'open' });
  }
  try {
    await migratePostgres(client, where);
    client.release();
  } catch (error) {
    client.release(true);
    await pool.end().catch(() => undefined);
    throw toPgStoreError(error, { where, operation: 'open' });
  }
  const control = new pg.Pool({
    connectionString: options.url,
    max: 1,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    application_name: 'airlock-control',
    types: pgTypes,
  });
  control.on('error', () => undefined);
  const group = {
    maxCommits: options.maxCommitsPerGroup ?? MAX_COMMITS_PER_GROUP,
    windowMs: options.groupWindowMs ?? GROUP_WINDOW_MS,
  };
  return plainStore(new PgStore(pool, control, where, options.now, group));
}

class PgStore implements PostgresStore {
  readonly kind = 'postgres' as const;
  readonly where: string;
  readonly #pool: pg.Pool;
  readonly #control: pg.Pool;
  readonly #now: (() => Date) | undefined;
  readonly #reads: PgReads & PgDashboardReads;
  readonly #group: GroupCommit;
  #closed = false;

  constructor(
    pool: pg.Pool,
    control: pg.Pool,
    where: string,
    now: (() => Date) | undefined,
    group: { readonly maxCommits: number; readonly windowMs: number },
  ) {
    this.#pool = pool;
    this.#control = control;
    this.where = where;
    this.#now = now;
    this.#group = createGroupCommit({ ...group, write: (commits) => this.#writeGroup(commits) });
    const query = (operation: string, text: string, values?: readonly unknown[]) =>
      this.query(operation, text, values);
    this.#reads = { ...createPgReads(query), ...createPgDashboardReads(query) };
  }

  #fail(operation: string, error: unknown): AirlockError {
    return toPgStoreError(error, { where: this.where, operation });
  }

  #assertOpen(): void {
    if (this.#closed) throw new AirlockError('INTERNAL', 'store is closed', { store: this.where });
  }

  async query(operation: string, text: string, values: readonly unknown[] = []) {
    this.#assertOpen();
    try {
      return (await this.#pool.query(text, [...values])).rows.map((row: Record<string, unknown>) => row);
    } catch (error) {
      throw this.#fail(operation, error);
    }
  }

  async controlQuery(operation: string, text: string, values: readonly unknown[] = []) {
    this.#assertOpen();
    try {
      return (await this.#control.query(text, [...values])).rows.map((row: Record<string, unknown>) => row);
    } catch (error) {
      throw this.#fail(operation, error);
    }
  }

  async transaction<T>(operation: string, work: (client: PoolClient) => Promise<T>): Promise<T> {
    this.#assertOpen();
    for (let attempt = 1; ; attempt++) {
      let client: PoolClient;
      try {
        client = await this.#pool.connect();
      } catch (error) {
        throw this.#fail(operation, error);
      }
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch((rollback: unknown) => {
          broken = rollback;
        });
        if (isRetryablePgError(error) && attempt < MAX_ATTEMPTS) continue;
        throw this.#fail(operation, error);
      } finally {
        // A connection whose ROLLBACK failed is in an unknown state: it is closed, not reused.
        client.release(broken === undefined ? undefined : true);
      }
    }
  }

  /** Appends inside the caller's transaction, holding the chain head's row lock until it commits. */
  #append(client: PoolClient, inputs: readonly AuditEventInput[]): Promise<AuditEvent[]> {
    return appendEvents(client, inputs, { where: this.where, now: this.#now });
  }

  async commit(batch: StoreBatch): Promise<readonly AuditEvent[]> {
    this.#assertOpen();
    const inputs = batch.events ?? [];
    let writes: [string, Record<string, unknown>][];
    try {
      inputs.forEach(validateEventInput);
      // Serialized before the transaction: a value that is not JSON fails without touching the database.
      const write = (table: string, values: Record<string, unknown>): [string, Record<string, unknown>] => [
        table,
        values,
      ];
      writes = [
        ...(batch.sessions ?? []).map((r) => write('sessions', pgValues(sessionParams(r)))),
        ...(batch.commands ?? []).map((r) => write('commands', pgValues(commandParams(r)))),
        ...(batch.approvals ?? []).map((r) => write('approvals', pgValues(approvalParams(r)))),
        ...(batch.outputs ?? []).map((r) =>
          write('outputs', { ...pgValues(outputParams(r)), chars: r.stdout.length + r.stderr.length }),
        ),
        ...(batch.accessTokens ?? []).map((r) => write('access_tokens', pgValues(accessTokenParams(r)))),
      ];
    } catch (error) {
      throw this.#fail('commit', error);
    }
    if (writes.length === 0 && inputs.length === 0) return [];
    return this.#group.submit({ writes, inputs });
  }

  /** One transaction for a group of commits: their rows (pgUpsertBatches), then their events as one append. */
  #writeGroup(commits: readonly PendingCommit[]): Promise<AuditEvent[][]> {
    return this.transaction('commit', async (client) => {
      // One statement per table, not per row: each costs a round trip and this node's CPU.
      for (const upsert of pgUpsertBatches(commits.flatMap((commit) => commit.writes))) {
        await client.query(upsert.text, upsert.values);
      }
      const appended = await this.#append(
        client,
        commits.flatMap((commit) => commit.inputs),
      );
      let from = 0;
      return commits.map((commit) => {
        from += commit.inputs.length;
        return appended.slice(from - commit.inputs.length, from);
      });
    });
  }

  async decideApproval(
    id: string,
    decision: Parameters<Store['decideApproval']>[1],
    event: (updated: ApprovalRecord) => AuditEventInput,
  ): Promise<ApprovalRecord | null> {
    return this.transaction('decide approval', async (client) => {
      const row = (
        await client.query(`SELECT *, ${PG_NOW_ISO} AS now FROM approvals WHERE id = $1 FOR UPDATE`, [id])
      ).rows[0] as Record<string, unknown> | undefined;
      if (row === undefined) return null;
      const { now, ...stored } = row;
      const current = approvalFromRow(rowOf(stored));
      // Only a pending approval can be decided: the first decider (on any node) wins.
      if (current.status !== 'pending') return current;
      const updated = decidedApproval(current, decision, this.#now?.().toISOString() ?? String(now));
      const input = event(updated);
      validateEventInput(input);
      const upsert = pgUpsert('approvals', pgValues(approvalParams(updated)));
      await client.query(upsert.text, upsert.values);
      await this.#append(client, [input]);
      // Delivered at COMMIT to every node listening: the one whose command waits wakes at once.
      await client.query('SELECT pg_notify($1, $2)', [APPROVAL_CHANNEL, id]);
      return updated;
    });
  }

  getSession: Store['getSession'] = (id) => this.#reads.getSession(id);
  listSessions: Store['listSessions'] = (query) => this.#reads.listSessions(query);
  getCommand: Store['getCommand'] = (id) => this.#reads.getCommand(id);
  listCommands: Store['listCommands'] = (query) => this.#reads.listCommands(query);
  queryCommands: Store['queryCommands'] = (query) => this.#reads.queryCommands(query);
  getApproval: Store['getApproval'] = (id) => this.#reads.getApproval(id);
  listApprovals: Store['listApprovals'] = (query) => this.#reads.listApprovals(query);
  getOutput: Store['getOutput'] = (id) => this.#reads.getOutput(id);
  listEvents: Store['listEvents'] = (query) => this.#reads.listEvents(query);
  lastCheckpoint: Store['lastCheckpoint'] = (keyId) => this.#reads.lastCheckpoint(keyId);
  addCheckpoint: Store['addCheckpoint'] = (checkpoint) => this.#reads.addCheckpoint(checkpoint);
  trimSessionOutputs: Store['trimSessionOutputs'] = (sessionId, maxChars) =>
    this.#reads.trimSessionOutputs(sessionId, maxChars);
  pruneOutputs: Store['pruneOutputs'] = (endedBefore) => this.#reads.pruneOutputs(endedBefore);
  getAccessToken: Store['getAccessToken'] = (id) => this.#reads.getAccessToken(id);
  findAccessToken: Store['findAccessToken'] = (digest) => this.#reads.findAccessToken(digest);
  listAccessTokens: Store['listAccessTokens'] = () => this.#reads.listAccessTokens();

  async readOutput(
    id: string,
    page: { readonly stream: 'stdout' | 'stderr'; readonly offset: number; readonly limit: number },
  ) {
    validatePageRequest(page);
    // Only the requested stream is loaded; the column name comes from the validated enum.
    const [row] = await this.query(
      'read output',
      `SELECT ${page.stream} AS text, session_id, command_id FROM outputs WHERE id = $1`,
      [id],
    );
    if (row === undefined) return null;
    const read = rowOf(row);
    return {
      ...pageText(id, String(read['text']), page),
      sessionId: String(read['session_id']),
      commandId: String(read['command_id']),
    };
  }

  async verify(options?: VerifyOptions) {
    this.#assertOpen();
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw this.#fail('verify', error);
    }
    try {
      return await verifyPgChain(client, options);
    } catch (error) {
      throw this.#fail('verify', error);
    } finally {
      client.release();
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Commits already accepted are written (or fail) before the connections go.
    await this.#group.drain();
    await this.#pool.end().catch(() => undefined);
    await this.#control.end().catch(() => undefined);
  }
}

// Security limitations:
// - As with SQLite, the hash chain proves that events agree with the stored head, not that the head is
//   genuine: a database role that can write these tables can rewrite both. Signed checkpoints (with keys
//   outside the database) and the witness are what detect that; give Airlock's role no more than
//   SELECT, INSERT, UPDATE and DELETE on its own tables, and no role that can drop the triggers.
// - The URL may carry a password: it is never logged or shown (redactStoreUrl); prefer a password file
//   (~/.pgpass) or PGPASSWORD in the service's environment, which `pg` reads itself.
// - A lone UTF-16 surrogate in a bytea or text column is stored as U+FFFD (UTF-8 cannot hold it), as in
//   SQLite. Event data is canonical JSON with such characters escaped, so the audit log is exact.
