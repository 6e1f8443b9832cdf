import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { AuditEvent, AuditEventInput, VerifyFailure } from './types.ts';

/**
 * The audit hash chain, independent of any database so every Store adapter hashes and verifies the
 * same way: event N's hash covers event N-1's hash, so editing or removing any event changes every hash
 * after it, and the stored head (the last seq and hash) covers the newest events.
 */

export type HashedFields = Pick<AuditEvent, 'seq' | 'at' | 'type' | 'sessionId' | 'commandId' | 'data'>;

export function hashEvent(prevHash: string, fields: HashedFields): string {
  const body = canonicalJson({
    seq: fields.seq,
    at: fields.at,
    type: fields.type,
    sessionId: fields.sessionId,
    commandId: fields.commandId,
    data: fields.data,
  });
  return createHash('sha256').update(`${prevHash}\n${body}`, 'utf8').digest('hex');
}

export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}

/** Links inputs onto the head: seq, prevHash and hash for each, in order. */
export function chainEvents(
  head: ChainHead,
  at: string,
  inputs: readonly AuditEventInput[],
): { events: AuditEvent[]; head: ChainHead } {
  let { seq, hash } = head;
  const events: AuditEvent[] = [];
  for (const input of inputs) {
    const fields: HashedFields = {
      seq: seq + 1,
      at,
      type: input.type,
      sessionId: input.sessionId,
      commandId: input.commandId,
      data: input.data,
    };
    const event: AuditEvent = { ...fields, prevHash: hash, hash: hashEvent(hash, fields) };
    events.push(event);
    ({ seq, hash } = event);
  }
  return { events, head: { seq, hash } };
}

/** A stored event as read back, before its data is trusted to be JSON. */
export interface StoredEvent {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly commandId: string | null;
  /** Parsed data, or undefined when the stored text did not parse. */
  readonly data: AuditEvent['data'] | undefined;
  readonly prevHash: string;
  readonly hash: string;
}

export type ChainFailure = VerifyFailure;

/** The chain's own verdict, before its checkpoints are summed up. */
export type ChainResult =
  | { readonly ok: true; readonly checked: number; readonly lastHash: string }
  | ChainFailure;

export interface ChainChecker {
  /** Feeds the next event in seq order; returns the first problem found, then keeps returning it. */
  next(event: StoredEvent): ChainFailure | undefined;
  /** Compares the walk with the stored head once every event has been fed. */
  finish(head: ChainHead | undefined): ChainResult;
  /** How far the walk got: events that verified, the last good seq and its hash. */
  progress(): { readonly checked: number; readonly lastSeq: number; readonly lastHash: string };
}

/**
 * Checks events one at a time so a caller can stream millions of them with bounded memory. The first
 * problem wins: later ones are usually consequences of it.
 */
export function createChainChecker(): ChainChecker {
  let checked = 0;
  let lastSeq = 0;
  let lastHash = '';
  let failure: ChainFailure | undefined;
  const fail = (seq: number, problem: ChainFailure['problem'], message: string): ChainFailure => {
    failure = { ok: false, checked, seq, problem, message };
    return failure;
  };
  return {
    next(event) {
      if (failure) return failure;
      if (event.seq !== lastSeq + 1) {
        const missing = lastSeq + 1 === event.seq - 1 ? `${lastSeq + 1}` : `${lastSeq + 1}..${event.seq - 1}`;
        return fail(
          lastSeq + 1,
          'gap',
          `event ${missing} is missing (the next stored event is ${event.seq})`,
        );
      }
      if (event.data === undefined) {
        return fail(event.seq, 'unreadable', `event ${event.seq}: its data is not valid JSON`);
      }
      if (event.prevHash !== lastHash) {
        return fail(
          event.seq,
          'chain-broken',
          `event ${event.seq}: its previous-hash does not match event ${lastSeq}'s hash`,
        );
      }
      const recomputed = rehash(event, event.data);
      if (recomputed === undefined) {
        return fail(
          event.seq,
          'unreadable',
          `event ${event.seq}: its data cannot be hashed (nested too deep)`,
        );
      }
      if (recomputed !== event.hash) {
        return fail(
          event.seq,
          'hash-mismatch',
          `event ${event.seq}: its content does not match its hash (edited)`,
        );
      }
      checked++;
      lastSeq = event.seq;
      lastHash = event.hash;
      return undefined;
    },
    finish(head) {
      if (failure) return failure;
      if (head === undefined) {
        return fail(lastSeq + 1, 'unreadable', 'the chain head (last seq and hash) is missing');
      }
      if (head.seq > lastSeq) {
        const missing = head.seq === lastSeq + 1 ? `${head.seq}` : `${lastSeq + 1}..${head.seq}`;
        return fail(
          lastSeq + 1,
          'gap',
          `event ${missing} is missing: the chain head records ${head.seq} events`,
        );
      }
      if (head.seq < lastSeq) {
        return fail(
          head.seq + 1,
          'chain-broken',
          `events after ${head.seq} are not covered by the chain head (added outside Airlock)`,
        );
      }
      if (head.hash !== lastHash) {
        return fail(lastSeq, 'chain-broken', `event ${lastSeq}: its hash does not match the chain head`);
      }
      return { ok: true, checked, lastHash };
    },
    progress() {
      return { checked, lastSeq, lastHash };
    },
  };
}

function rehash(event: StoredEvent, data: AuditEvent['data']): string | undefined {
  try {
    // The stored type is hashed as written: an edited type is a mismatch, not a crash.
    return hashEvent(event.prevHash, { ...event, type: event.type as AuditEvent['type'], data });
  } catch {
    return undefined;
  }
}

// Security limitations:
// - On its own the chain is anchored only by the stored head: whoever can write the file can rebuild
//   every event and the head consistently. Signed checkpoints (audit-checkpoint.ts) and the witness
//   outside the store are what detect that.
// - sha256 over canonical JSON proves integrity, not authorship: anyone can compute a valid hash for an
//   event they forge; only a checkpoint's signature says who vouched for a head.
