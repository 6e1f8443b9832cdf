import type { DatabaseSync } from 'node:sqlite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAirlockError } from '../errors/index.ts';
import { walkChain } from './audit-walk.ts';
import { CHECKPOINT_COLUMNS, checkpointFromRow } from './sqlite-checkpoints.ts';
import { EVENT_COLUMNS } from './sqlite-events.ts';
import { openConnection } from './sqlite-file.ts';
import type { Row } from './sqlite-rows.ts';
import type { AuditCheckpoint, VerifyOptions, VerifyResult } from './types.ts';

/** Events read per page: memory stays bounded whatever the length of the log. */
export const VERIFY_PAGE_SIZE = 1000;

export type VerifySource =
  | { readonly db: DatabaseSync; readonly yieldBetweenPages: false }
  | { readonly path: string; readonly busyTimeoutMs: number };

/**
 * Verifies inside one read transaction, so a writer appending meanwhile (another process) cannot make
 * the walk and the head disagree; the checkpoints are read by a cursor in the same snapshot.
 */
export async function verifyStoredChain(
  source: VerifySource,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const own = 'path' in source;
  const db = own
    ? openConnection({ path: source.path, busyTimeoutMs: source.busyTimeoutMs, readOnly: true })
    : source.db;
  let signed: Iterator<Record<string, unknown>> | undefined;
  try {
    return await walkChain(
      () => {
        db.exec('BEGIN');
        const headRow = db.prepare('SELECT seq, hash FROM chain_head WHERE id = 1').get();
        const page = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
        // A cursor rather than pages: rows are read as the walk needs them, so memory stays bounded
        // however many checkpoints (possibly planted) there are.
        const cursor = db
          .prepare(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq, key_id`)
          .iterate();
        signed = cursor;
        return {
          headRow,
          events: (afterSeq, pageSize) => page.all(afterSeq, pageSize),
          nextCheckpoint: (): AuditCheckpoint | undefined => {
            const step = cursor.next();
            return step.done === true ? undefined : checkpointFromRow(step.value as Row);
          },
          // Only an own connection may yield: the shared one must not hold a transaction across turns.
          ...(own ? { betweenPages: () => nextTurn() } : {}),
        };
      },
      { ...options, pageSize: VERIFY_PAGE_SIZE, isReadFailure },
    );
  } finally {
    // Ends the checkpoint cursor before the transaction it reads in.
    signed?.return?.();
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
    if (own) db.close();
  }
}

/** A SQLite read error or a row of the wrong shape; anything else is a bug and is thrown. */
function isReadFailure(error: unknown): boolean {
  if (isAirlockError(error)) return error.code === 'STORE_UNAVAILABLE';
  return (error as { code?: unknown } | null)?.code === 'ERR_SQLITE_ERROR';
}
