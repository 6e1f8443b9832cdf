import type { DatabaseSync } from 'node:sqlite';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { isAirlockError } from '../errors/index.ts';
import { createChainChecker, type ChainHead, type StoredEvent } from './audit-chain.ts';
import { createCheckpointChecker } from './audit-checkpoint.ts';
import { CHECKPOINT_COLUMNS, checkpointFromRow } from './sqlite-checkpoints.ts';
import { EVENT_COLUMNS } from './sqlite-events.ts';
import { openConnection } from './sqlite-file.ts';
import { columns, type Row } from './sqlite-rows.ts';
import type { AuditCheckpoint, JsonObject, VerifyOptions, VerifyResult } from './types.ts';

/** Events read per page: memory stays bounded whatever the length of the log. */
export const VERIFY_PAGE_SIZE = 1000;

export type VerifySource =
  | { readonly db: DatabaseSync; readonly yieldBetweenPages: false }
  | { readonly path: string; readonly busyTimeoutMs: number };

/**
 * Walks every event in seq order inside one read transaction, so a writer appending meanwhile (another
 * process) cannot make the walk and the head disagree. The checkpoints are read in seq order beside the
 * events, in the same snapshot: each is checked when the walk reaches the event it names, and any left
 * when the events end name a head the chain no longer reaches. A database that cannot be read from some
 * point on is reported as 'unreadable' at that seq rather than thrown: verify's answer is about the log.
 */
export async function verifyStoredChain(
  source: VerifySource,
  options: VerifyOptions = {},
): Promise<VerifyResult> {
  const own = 'path' in source;
  const db = own
    ? openConnection({ path: source.path, busyTimeoutMs: source.busyTimeoutMs, readOnly: true })
    : source.db;
  const checker = createChainChecker();
  const checkpoints = createCheckpointChecker(options.trustedKeys, () => checker.progress().checked);
  let signed: Iterator<Record<string, unknown>> | undefined;
  try {
    db.exec('BEGIN');
    const headRow = db.prepare('SELECT seq, hash FROM chain_head WHERE id = 1').get();
    const page = db.prepare(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?`);
    // A cursor rather than pages: rows are read as the walk needs them, so memory stays bounded
    // however many checkpoints (possibly planted) there are.
    const cursor = db
      .prepare(`SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq, key_id`)
      .iterate();
    signed = cursor;
    const nextCheckpoint = (): AuditCheckpoint | undefined => {
      const step = cursor.next();
      return step.done === true ? undefined : checkpointFromRow(step.value as Row);
    };
    let pending = nextCheckpoint();
    let afterSeq = 0;
    for (;;) {
      const rows = page.all(afterSeq, VERIFY_PAGE_SIZE);
      for (const row of rows) {
        const event = storedEvent(row);
        const failure = checker.next(event);
        if (failure) return failure;
        // Events run 1, 2, 3… without gaps, so every checkpoint up to this seq names this event.
        while (pending !== undefined && pending.seq <= event.seq) {
          const bad = checkpoints.check(pending, pending.seq === event.seq ? event.hash : undefined);
          if (bad) return bad;
          pending = nextCheckpoint();
        }
      }
      const last = rows.at(-1);
      if (rows.length < VERIFY_PAGE_SIZE || last === undefined) break;
      afterSeq = Number(last['seq']);
      // Only an own connection may yield: the shared one must not hold a transaction across turns.
      if (own) await nextTurn();
    }
    const chain = checker.finish(head(headRow));
    if (!chain.ok) return chain;
    if (pending !== undefined) {
      const bad = checkpoints.check(pending, undefined);
      if (bad) return bad;
    }
    return { ...chain, checkpoints: checkpoints.summary(checker.progress().lastSeq) };
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
    // Ends the checkpoint cursor before the transaction it reads in.
    signed?.return?.();
    if (db.isOpen && db.isTransaction) db.exec('ROLLBACK');
    if (own) db.close();
  }
}

/** An event row as verify reads it: its data parsed, or undefined when it is not a JSON object. */
export function storedEvent(row: Row): StoredEvent {
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
