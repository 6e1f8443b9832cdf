import type { DatabaseSync } from 'node:sqlite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAirlockError } from '../errors/index.ts';
import { createChainChecker, type ChainHead, type StoredEvent } from './audit-chain.ts';
import { EVENT_COLUMNS } from './sqlite-events.ts';
import { openConnection } from './sqlite-file.ts';
import { columns, type Row } from './sqlite-rows.ts';
import type { JsonObject, VerifyResult } from './types.ts';

/** Events read per page: memory stays bounded whatever the length of the log. */
export const VERIFY_PAGE_SIZE = 1000;

export type VerifySource =
  | { readonly db: DatabaseSync; readonly yieldBetweenPages: false }
  | { readonly path: string; readonly busyTimeoutMs: number };

/**
 * Walks every event in seq order inside one read transaction, so a writer appending meanwhile (another
 * process) cannot make the walk and the head disagree. A database that cannot be read from some point
 * on is reported as 'unreadable' at that seq rather than thrown: verify's answer is about the log.
 */
export async function verifyStoredChain(source: VerifySource): Promise<VerifyResult> {
  const own = 'path' in source;
  const db = own
    ? openConnection({ path: source.path, busyTimeoutMs: source.busyTimeoutMs, readOnly: true })
    : source.db;
  const checker = createChainChecker();
  try {
    db.exec('BEGIN');
    const headRow = db.prepare('SELECT seq, hash FROM chain_head WHERE id = 1').get();
    const page = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
    let afterSeq = 0;
    for (;;) {
      const rows = page.all(afterSeq, VERIFY_PAGE_SIZE);
      for (const row of rows) {
        const failure = checker.next(storedEvent(row));
        if (failure) return failure;
      }
      const last = rows.at(-1);
      if (rows.length < VERIFY_PAGE_SIZE || last === undefined) break;
      afterSeq = Number(last['seq']);
      // Only an own connection may yield: the shared one must not hold a transaction across turns.
      if (own) await nextTurn();
    }
    return checker.finish(head(headRow));
  } catch (error) {
    if (!isReadFailure(error)) throw error;
    const { lastSeq, checked } = checker.progress();
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ok: false,
      checked,
      seq: lastSeq + 1,
      problem: 'unreadable',
      message: `event ${lastSeq + 1}: ${reason}`,
    };
  } finally {
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
    if (own) db.close();
  }
}

function storedEvent(row: Row): StoredEvent {
  const read = columns(row, 'events');
  return {
    seq: read.number('seq'),
    at: read.text('at'),
    type: read.text('type'),
    sessionId: read.textOrNull('session_id'),
    commandId: read.textOrNull('command_id'),
    data: parseData(read.text('data')),
    prevHash: read.text('prev_hash'),
    hash: read.text('hash'),
  };
}

function parseData(text: string): JsonObject | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as JsonObject)
      : undefined;
  } catch {
    return undefined;
  }
}

function head(row: Row | undefined): ChainHead | undefined {
  if (row === undefined || typeof row['seq'] !== 'number' || typeof row['hash'] !== 'string')
    return undefined;
  return { seq: row['seq'], hash: row['hash'] };
}

/** A SQLite read error or a row of the wrong shape; anything else is a bug and is thrown. */
function isReadFailure(error: unknown): boolean {
  if (isAirlockError(error)) return error.code === 'STORE_UNAVAILABLE';
  return (error as { code?: unknown } | null)?.code === 'ERR_SQLITE_ERROR';
}
