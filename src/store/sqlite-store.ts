import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { chainEvents, type ChainHead } from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';
import { pageText, validatePageRequest } from './output-page.ts';
import { verifyStoredChain } from './sqlite-verify.ts';
import { toStoreError } from './sqlite-errors.ts';
import { MEMORY_PATH, openConnection, prepareDatabaseFile } from './sqlite-file.ts';
import { createCheckpointRows } from './sqlite-checkpoints.ts';
import { createEventReader, validateEventInput } from './sqlite-events.ts';
import {
  approvalFromRow,
  approvalParams,
  commandFromRow,
  columns,
  commandParams,
  outputFromRow,
  outputParams,
  sessionFromRow,
  sessionParams,
  upsertSql,
  type Params,
  type Row,
} from './sqlite-rows.ts';
import { migrate } from './sqlite-schema.ts';
import type { ApprovalRecord, AuditEvent, AuditEventInput, Store, StoreBatch } from './types.ts';

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

  /** Runs synchronous work against the open database, turning any failure into an AirlockError. */
  const run = <T>(operation: string, work: () => T): T => {
    if (closed) throw new AirlockError('INTERNAL', 'store is closed', { path });
    try {
      return work();
    } catch (error) {
      throw fail(operation, error);
    }
  };

  const immediate = <T>(work: () => T): T => {
    db.exec('BEGIN IMMEDIATE');
    try {
      const result = work();
      db.exec('COMMIT');
      return result;
    } catch (error) {
      // A failed COMMIT (a deferred foreign key, a full disk) leaves the transaction open. The original
      // error is what explains the failure; a rollback that fails too (SQLite then rolls back on close)
      // must not replace it.
      try {
        if (db.isTransaction) db.exec('ROLLBACK');
      } catch {
        // Reported through the original error below.
      }
      throw error;
    }
  };

  const readHead = (): ChainHead => {
    const row = statement('SELECT seq, hash FROM chain_head WHERE id = 1').get();
    const maxSeq = statement('SELECT max(seq) AS seq FROM events').get()?.['seq'] ?? 0;
    if (row === undefined || typeof row['seq'] !== 'number' || typeof row['hash'] !== 'string') {
      throw new AirlockError('STORE_UNAVAILABLE', `store ${path}: the audit chain head is missing`, { path });
    }
    // Appending after events the head does not cover would hide them inside a valid-looking chain.
    if (typeof maxSeq !== 'number' || maxSeq > row['seq']) {
      throw new AirlockError(
        'STORE_UNAVAILABLE',
        `store ${path}: the audit log has events past its chain head; run airlock audit verify`,
        { path },
      );
    }
    return { seq: row['seq'], hash: row['hash'] };
  };

  /** Appends inside the caller's transaction; the head moves in the same transaction. */
  const append = (inputs: readonly AuditEventInput[]): AuditEvent[] => {
    if (inputs.length === 0) return [];
    const chained = chainEvents(readHead(), now().toISOString(), inputs);
    const insert = statement(
      'INSERT INTO events (seq, at, type, session_id, command_id, data, prev_hash, hash) ' +
        'VALUES (:seq, :at, :type, :session_id, :command_id, :data, :prev_hash, :hash)',
    );
    for (const event of chained.events) {
      insert.run({
        seq: event.seq,
        at: event.at,
        type: event.type,
        session_id: event.sessionId,
        command_id: event.commandId,
        data: canonicalJson(event.data),
        prev_hash: event.prevHash,
        hash: event.hash,
      });
    }
    statement('UPDATE chain_head SET seq = :seq, hash = :hash WHERE id = 1').run({ ...chained.head });
    return chained.events;
  };

  const getRow = (table: string, id: string): Row | undefined =>
    statement(`SELECT * FROM ${table} WHERE id = ?`).get(id);

  return {
    async commit(batch: StoreBatch) {
      return run('commit', () => {
        const inputs = batch.events ?? [];
        inputs.forEach(validateEventInput);
        // Serialized before the transaction: a value that is not JSON fails without touching the file.
        const writes: [string, Params][] = [
          ...(batch.sessions ?? []).map((record): [string, Params] => ['sessions', sessionParams(record)]),
          ...(batch.commands ?? []).map((record): [string, Params] => ['commands', commandParams(record)]),
          ...(batch.approvals ?? []).map((record): [string, Params] => ['approvals', approvalParams(record)]),
          ...(batch.outputs ?? []).map((record): [string, Params] => ['outputs', outputParams(record)]),
        ];
        if (writes.length === 0 && inputs.length === 0) return [];
        return immediate(() => {
          for (const [table, params] of writes) statement(upsertSql(table, params)).run(params);
          return append(inputs);
        });
      });
    },

    async decideApproval(id, decision, event) {
      return run('decide approval', () =>
        immediate((): ApprovalRecord | null => {
          const row = getRow('approvals', id);
          if (row === undefined) return null;
          const current = approvalFromRow(row);
          // Only a pending approval can be decided: the first decider wins, later ones see its result.
          if (current.status !== 'pending') return current;
          const updated: ApprovalRecord = {
            ...current,
            status: decision.status,
            decidedAt: now().toISOString(),
            decidedBy: decision.decidedBy,
            decisionReason: decision.reason,
            remember: decision.remember,
            scope: decision.scope,
          };
          const input = event(updated);
          validateEventInput(input);
          const params = approvalParams(updated);
          statement(upsertSql('approvals', params)).run(params);
          append([input]);
          return updated;
        }),
      );
    },

    async getSession(id) {
      return run('read session', () => {
        const row = getRow('sessions', id);
        return row === undefined ? null : sessionFromRow(row);
      });
    },

    async listSessions(query = {}) {
      return run('list sessions', () => {
        const where = query.state === undefined ? '' : 'WHERE state = :state';
        const params: Params = query.state === undefined ? {} : { state: query.state };
        if (query.limit === undefined) {
          return statement(`SELECT * FROM sessions ${where} ORDER BY created_at, id`)
            .all(params)
            .map(sessionFromRow);
        }
        if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
          throw new AirlockError('INVALID_ARGUMENT', 'limit must be a positive whole number', {
            field: 'limit',
            value: String(query.limit),
          });
        }
        return statement(`SELECT * FROM sessions ${where} ORDER BY created_at DESC, id DESC LIMIT :limit`)
          .all({ ...params, limit: query.limit })
          .map(sessionFromRow)
          .reverse();
      });
    },

    async getCommand(id) {
      return run('read command', () => {
        const row = getRow('commands', id);
        return row === undefined ? null : commandFromRow(row);
      });
    },

    async listCommands(query) {
      return run('list commands', () => {
        // An empty list of states matches nothing, never everything.
        if (query.states !== undefined && query.states.length === 0) return [];
        const conditions: string[] = [];
        const params: Params = {};
        if (query.sessionId !== undefined) {
          conditions.push('session_id = :sessionId');
          params['sessionId'] = query.sessionId;
        }
        if (query.states !== undefined) {
          conditions.push('state IN (SELECT value FROM json_each(:states))');
          params['states'] = JSON.stringify(query.states);
        }
        const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
        return statement(`SELECT * FROM commands ${where} ORDER BY created_at, id`)
          .all(params)
          .map(commandFromRow);
      });
    },

    async getApproval(id) {
      return run('read approval', () => {
        const row = getRow('approvals', id);
        return row === undefined ? null : approvalFromRow(row);
      });
    },

    async listApprovals(query = {}) {
      return run('list approvals', () => {
        const conditions: string[] = [];
        const params: Params = {};
        if (query.status !== undefined) {
          conditions.push('status = :status');
          params['status'] = query.status;
        }
        if (query.sessionId !== undefined) {
          conditions.push('session_id = :sessionId');
          params['sessionId'] = query.sessionId;
        }
        const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
        return statement(`SELECT * FROM approvals ${where} ORDER BY created_at, id`)
          .all(params)
          .map(approvalFromRow);
      });
    },

    async getOutput(id) {
      return run('read output', () => {
        const row = getRow('outputs', id);
        return row === undefined ? null : outputFromRow(row);
      });
    },

    async readOutput(id, page) {
      validatePageRequest(page);
      return run('read output', () => {
        // Only the requested stream is loaded; the column name comes from the validated enum.
        const row = statement(
          `SELECT id, ${page.stream}, session_id, command_id FROM outputs WHERE id = ?`,
        ).get(id);
        if (row === undefined) return null;
        const read = columns(row, 'outputs');
        return {
          ...pageText(id, read.text(page.stream), page),
          sessionId: read.text('session_id'),
          commandId: read.text('command_id'),
        };
      });
    },

    async trimSessionOutputs(sessionId, maxChars) {
      if (!Number.isSafeInteger(maxChars) || maxChars < 0) {
        throw new AirlockError('INVALID_ARGUMENT', 'maxChars must be a non-negative whole number', {
          field: 'maxChars',
        });
      }
      return run('trim outputs', () => {
        // `newer` is what the outputs after this one hold: an output goes when keeping it would take
        // the session past the budget. The newest (no `newer`) always stays.
        const result = statement(
          'DELETE FROM outputs WHERE id IN (SELECT id FROM (' +
            'SELECT id, length(stdout) + length(stderr) AS size, SUM(length(stdout) + length(stderr)) OVER (' +
            'ORDER BY created_at DESC, rowid DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer ' +
            'FROM outputs WHERE session_id = ?) WHERE newer IS NOT NULL AND newer + size > ?)',
        ).run(sessionId, maxChars);
        return Number(result.changes);
      });
    },

    async pruneOutputs(endedBefore) {
      const cutoff = new Date(endedBefore);
      if (typeof endedBefore !== 'string' || Number.isNaN(cutoff.getTime())) {
        throw new AirlockError('INVALID_ARGUMENT', 'endedBefore must be an ISO 8601 time', {
          field: 'endedBefore',
          value: String(endedBefore),
        });
      }
      return run('prune outputs', () => {
        const result = statement(
          'DELETE FROM outputs WHERE session_id IN ' +
            "(SELECT id FROM sessions WHERE state = 'ended' AND ended_at IS NOT NULL AND ended_at < ?)",
        ).run(cutoff.toISOString());
        return Number(result.changes);
      });
    },

    async listEvents(query = {}) {
      return run('read events', () => events.list(query));
    },

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
