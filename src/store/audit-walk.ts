import { createChainChecker, type ChainHead, type StoredEvent } from './audit-chain.ts';
import { createCheckpointChecker } from './audit-checkpoint.ts';
import { columns, type Row } from './sqlite-rows.ts';
import type { AuditCheckpoint, JsonObject, VerifyOptions, VerifyResult } from './types.ts';

/** One snapshot of the audit log, as a store's verify reads it: the head, then pages of events. */
export interface ChainSnapshot {
  /** The stored head row (`seq`, `hash`), read in the same snapshot as the events. */
  readonly headRow: Row | undefined;
  /** Up to `pageSize` events after `afterSeq`, in seq order. */
  events(afterSeq: number, pageSize: number): Promise<readonly Row[]> | readonly Row[];
  /** The next checkpoint in (seq, key id) order, undefined after the last. */
  nextCheckpoint(): Promise<AuditCheckpoint | undefined> | AuditCheckpoint | undefined;
  /** Called between pages (a store may yield the event loop there). */
  betweenPages?(): Promise<void>;
}

export interface ChainWalkOptions extends VerifyOptions {
  readonly pageSize: number;
  /** Which errors mean "the log cannot be read from here on" (reported); anything else is thrown. */
  readonly isReadFailure: (error: unknown) => boolean;
}

/**
 * Walks every event of one snapshot in seq order, one page at a time so memory stays bounded whatever
 * the length of the log. Each checkpoint is checked when the walk reaches the event it names, and any
 * left when the events end name a head the chain no longer reaches. Both stores verify through this one
 * walk, so a chain one store accepts the other accepts too. A log that cannot be read from some point
 * on is reported as 'unreadable' at that seq rather than thrown: verify's answer is about the log.
 */
export async function walkChain(
  open: () => Promise<ChainSnapshot> | ChainSnapshot,
  options: ChainWalkOptions,
): Promise<VerifyResult> {
  const checker = createChainChecker();
  const checkpoints = createCheckpointChecker(options.trustedKeys, () => checker.progress().checked);
  try {
    const snapshot = await open();
    let pending = await snapshot.nextCheckpoint();
    let afterSeq = 0;
    for (;;) {
      const rows = await snapshot.events(afterSeq, options.pageSize);
      for (const row of rows) {
        const event = storedEvent(row);
        const failure = checker.next(event);
        if (failure) return failure;
        // Events run 1, 2, 3… without gaps, so every checkpoint up to this seq names this event.
        while (pending !== undefined && pending.seq <= event.seq) {
          const bad = checkpoints.check(pending, pending.seq === event.seq ? event.hash : undefined);
          if (bad) return bad;
          pending = await snapshot.nextCheckpoint();
        }
      }
      const last = rows.at(-1);
      if (rows.length < options.pageSize || last === undefined) break;
      afterSeq = Number(last['seq']);
      await snapshot.betweenPages?.();
    }
    const chain = checker.finish(head(snapshot.headRow));
    if (!chain.ok) return chain;
    if (pending !== undefined) {
      const bad = checkpoints.check(pending, undefined);
      if (bad) return bad;
    }
    return { ...chain, checkpoints: checkpoints.summary(checker.progress().lastSeq) };
  } catch (error) {
    if (!options.isReadFailure(error)) throw error;
    const { lastSeq, checked } = checker.progress();
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return {
      ok: false,
      checked,
      seq: lastSeq + 1,
      problem: 'unreadable',
      message: `event ${lastSeq + 1}: ${reason}`,
    };
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
