import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { createSqliteReads } from './sqlite-reads.ts';
import { verifyStoredChain } from './sqlite-verify.ts';
import { toStoreError } from './sqlite-errors.ts';
import { MEMORY_PATH, openConnection, prepareDatabaseFile } from './sqlite-file.ts';
import { createAccessTokenRows } from './sqlite-access-tokens.ts';
import { createCheckpointRows } from './sqlite-checkpoints.ts';
import { createEventReader } from './sqlite-events.ts';
import type { Row } from './sqlite-rows.ts';
import { migrate } from './sqlite-schema.ts';
import { createSqliteWrites } from './sqlite-writes.ts';
import type { Store } from './types.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' for a store that lives as long as the instance. */
  readonly path: string;
  /** The store's clock: event times and approval decision times. */
  readonly now?: () => Date;
  /** How long a write waits for another process's transaction before failing (default 5000). */
  readonly busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

/**
 * The embedded Store: one SQLite file in WAL mode that a CLI and a server may share. Every write is one
 * BEGIN IMMEDIATE transaction, which takes the file's write lock before reading the chain head, so
 * writers in different processes append one after the other and never fork the chain.
 */
export function openSqliteStore(options: SqliteStoreOptions): Store {
  const { path } = options;
  const now = options.now ?? (() => new Date());
  const busyTimeoutMs = options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS;
  if (typeof path !== 'string' || path === '') {
    throw new AirlockError('INVALID_ARGUMENT', 'store path must be a file path or :memory:', {
      field: 'path',
    });
  }
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    throw new AirlockError('INVALID_ARGUMENT', 'busyTimeoutMs must be a non-negative integer', {
      field: 'busyTimeoutMs',
    });
  }
  const fail = (operation: string, error: unknown): AirlockError =>
    toStoreError(error, { path, operation, busyTimeoutMs });

  let db: DatabaseSync;
  try {
    prepareDatabaseFile(path);
    db = openConnection({ path, busyTimeoutMs, readOnly: false });
  } catch (error) {
    throw fail('open', error);
  }
  try {
    migrate(db, path);
  } catch (error) {
    db.close();
    throw fail('open', error);
  }

  let closed = false;
  const statements = new Map<string, StatementSync>();
  /** Prepared once per SQL text; the texts are built from fixed parts, so the map stays small. */
  const statement = (sql: string): StatementSync => {
    let prepared = statements.get(sql);
    if (prepared === undefined) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  const events = createEventReader(statement);
  const checkpoints = createCheckpointRows(statement);
  const accessTokens = createAccessTokenRows(statement);

  /** Runs synchronous work against the open database, turning any failure into an AirlockError. */
  const run = <T>(operation: string, work: () => T): T => {
    if (closed) throw new AirlockError('INTERNAL', 'store is closed', { path });
    try {
      return work();
    } catch (error) {
      throw fail(operation, error);
    }
  };

  const getRow = (table: string, id: string): Row | undefined =>
    statement(`SELECT * FROM ${table} WHERE id = ?`).get(id);
  const reads = createSqliteReads({ statement, run, getRow });
  const writes = createSqliteWrites({ db, path, now, statement, run, getRow });

  return {
    ...writes,
    ...reads,

    async listEvents(query = {}) {
      return run('read events', () => events.list(query));
    },

    getAccessToken: async (id) => run('read token', () => accessTokens.get(id)),
    findAccessToken: async (digest) => run('read token', () => accessTokens.find(digest)),
    listAccessTokens: async () => run('list tokens', () => accessTokens.list()),

    async addCheckpoint(checkpoint) {
      return run('store checkpoint', () => checkpoints.add(checkpoint));
    },

    async lastCheckpoint(keyId) {
      return run('read checkpoint', () => checkpoints.last(keyId));
    },

    async verify(options) {
      if (closed) throw new AirlockError('INTERNAL', 'store is closed', { path });
      try {
        // A file store is verified on its own read-only connection inside one read transaction: a
        // consistent snapshot that can yield between pages while this connection keeps writing.
        return await verifyStoredChain(
          path === MEMORY_PATH ? { db, yieldBetweenPages: false } : { path, busyTimeoutMs },
          options,
        );
      } catch (error) {
        throw fail('verify', error);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      statements.clear();
      try {
        db.close();
      } catch (error) {
        throw fail('close', error);
      }
    },
  };
}

// Security limitations:
// - The hash chain proves that the events agree with the stored chain head, not that the head is
//   genuine: someone who can write the file can rewrite every event and the head consistently. Signed
//   checkpoints (made by audit-checkpointer.ts with a key outside this file) and the witness detect that.
// - The file's mode is set when Airlock creates it; an existing file and its directory keep theirs.
// - SQLite stores text as UTF-8: a lone UTF-16 surrogate in a record's text column is read back as
//   U+FFFD. Event data is stored as JSON with such characters escaped, so the audit log is exact.
// - A write waits up to busyTimeoutMs for another process's transaction, blocking this thread meanwhile.
