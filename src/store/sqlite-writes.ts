import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { chainEvents, type ChainHead } from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';
import { accessTokenParams } from './sqlite-access-tokens.ts';
import { validateEventInput } from './sqlite-events.ts';
import {
  approvalFromRow,
  approvalParams,
  decidedApproval,
  commandParams,
  outputParams,
  sessionParams,
  upsertSql,
  type Params,
  type Row,
} from './sqlite-rows.ts';
import type { ApprovalRecord, AuditEvent, AuditEventInput, Store, StoreBatch } from './types.ts';

export interface SqliteWriteParts {
  readonly db: DatabaseSync;
  readonly path: string;
  readonly now: () => Date;
  readonly statement: (sql: string) => StatementSync;
  /** Runs work against the open database, turning a failure into an AirlockError. */
  readonly run: <T>(operation: string, work: () => T) => T;
  readonly getRow: (table: string, id: string) => Row | undefined;
}

/**
 * The SQLite store's writes. Every write is one BEGIN IMMEDIATE transaction, which takes the file's
 * write lock before reading the chain head, so writers in different processes append one after the
 * other and never fork the chain.
 */
export function createSqliteWrites(parts: SqliteWriteParts): Pick<Store, 'commit' | 'decideApproval'> {
  const { db, path, now, statement, run, getRow } = parts;

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
          ...(batch.accessTokens ?? []).map((r): [string, Params] => ['access_tokens', accessTokenParams(r)]),
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
          const updated = decidedApproval(current, decision, now().toISOString());
          const input = event(updated);
          validateEventInput(input);
          const params = approvalParams(updated);
          statement(upsertSql('approvals', params)).run(params);
          append([input]);
          return updated;
        }),
      );
    },
  };
}
