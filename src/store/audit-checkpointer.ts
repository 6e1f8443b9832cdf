import { hashEvent, type ChainHead } from './audit-chain.ts';
import { checkpointSignedBy, signCheckpoint, type AuditSigningKey } from './audit-checkpoint.ts';
import { readAuditAnchor, writeAuditAnchor } from './audit-anchor.ts';
import type { AuditCheckpoint, AuditEvent, Store } from './types.ts';

/**
 * Makes signed checkpoints of a store's audit chain, through the `Store` port only, so every adapter
 * gets them. A signature vouches for every event under it, so the chain from the previous checkpoint to
 * the new head is checked first, and a chain that does not hold is never signed:
 * - events this process committed are taken as it computed them (their hashes came from its own
 *   commit, never from the database): signing those is what makes a later edit of them visible;
 * - events it did not see (another process's, or a backlog from before a restart) are read back from
 *   the store and re-hashed;
 * - every link, seen or read, must follow the one before, back to the last signed head, which must
 *   still be in the store.
 */

/** Events read per page while re-verifying: memory stays bounded whatever the backlog. */
export const CHECKPOINT_PAGE_SIZE = 1000;

/** Events held as seen, as a multiple of `everyEvents`; past it they are re-read from the store instead. */
const OBSERVED_EVENTS_FACTOR = 4;

export type CheckpointOutcome =
  | { readonly status: 'signed'; readonly checkpoint: AuditCheckpoint }
  | { readonly status: 'nothing-new'; readonly seq: number }
  /** The chain does not verify from the last signed head: nothing is signed until someone looks. */
  | { readonly status: 'refused'; readonly seq: number; readonly message: string };

export type CheckpointerEvent =
  | CheckpointOutcome
  /** The store or the anchor could not be read or written; the next run tries again. */
  | { readonly status: 'failed'; readonly error: unknown };

export interface CheckpointerOptions {
  readonly store: Store;
  readonly key: AuditSigningKey;
  /** A checkpoint is started once this many events were reported through `observe` or `appended`. */
  readonly everyEvents: number;
  /** Where the newest checkpoint is copied outside the store (audit-anchor.ts); null for none. */
  readonly anchorPath: string | null;
  readonly now?: () => Date;
  /** Every outcome and failure, for logs and metrics. Never throws into the caller. */
  readonly onEvent: (event: CheckpointerEvent) => void;
}

export interface Checkpointer {
  /** Events this process just committed, as its commit computed them; counts towards the next checkpoint. */
  observe(events: readonly AuditEvent[]): void;
  /** Events appended that this process did not see (read from the store when signing). */
  appended(count: number): void;
  /** Checkpoints the newest head; runs one at a time, and a call made meanwhile is run after it. */
  checkpoint(): Promise<CheckpointOutcome | null>;
  /** Waits for a running checkpoint and makes a last one; later calls do nothing. */
  close(): Promise<void>;
}

export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  const { store, key, anchorPath } = options;
  const now = options.now ?? (() => new Date());
  let signedHead: ChainHead | null = null;
  let anchorRead = false;
  let sinceLast = 0;
  /** Links this process committed since the last checkpoint, by seq. */
  const observed = new Map<number, { readonly prevHash: string; readonly hash: string }>();
  const maxObserved = Math.max(CHECKPOINT_PAGE_SIZE, options.everyEvents * OBSERVED_EVENTS_FACTOR);
  let closed = false;
  let tail: Promise<unknown> = Promise.resolve();
  let queued: Promise<CheckpointOutcome | null> | null = null;

  /** The newest head this key is known to have signed: from memory, the store and (once) the anchor. */
  const baseline = async (): Promise<ChainHead | CheckpointOutcome> => {
    let base = signedHead ?? { seq: 0, hash: '' };
    const stored = await store.lastCheckpoint(key.keyId);
    if (stored !== null && stored.seq > base.seq) {
      if (!checkpointSignedBy(stored, key)) {
        return refuse(
          stored.seq,
          `the store's checkpoint at seq ${stored.seq} names this key but its signature does not verify`,
        );
      }
      base = stored;
    }
    if (!anchorRead && anchorPath !== null) {
      const anchor = readAuditAnchor(anchorPath);
      if (anchor.status === 'unreadable') return refuse(base.seq, anchor.message);
      anchorRead = true;
      if (anchor.status === 'found' && anchor.checkpoint.seq > base.seq) {
        if (!checkpointSignedBy(anchor.checkpoint, key)) {
          return refuse(anchor.checkpoint.seq, `the anchor ${anchorPath} is not signed by this key`);
        }
        // The store lost checkpoints the anchor still has: what counts is whether it still has the events.
        base = anchor.checkpoint;
      }
    }
    return { seq: base.seq, hash: base.hash };
  };

  const run = async (): Promise<CheckpointOutcome> => {
    sinceLast = 0;
    const base = await baseline();
    if ('status' in base) return base;
    if (base.seq > 0) {
      const [atBase] = await store.listEvents({ afterSeq: base.seq - 1, limit: 1 });
      if (atBase === undefined || atBase.seq !== base.seq || atBase.hash !== base.hash) {
        return refuse(
          base.seq,
          `the audit log no longer holds the head signed at seq ${base.seq}: it was cut or rewritten; run airlock audit verify`,
        );
      }
    }
    const walked = await walkChain(store, observed, base);
    if ('status' in walked) return walked;
    const head = walked;
    if (head.seq === base.seq) {
      signedHead = head;
      return { status: 'nothing-new', seq: head.seq };
    }
    const checkpoint = signCheckpoint(head, now().toISOString(), key);
    await store.addCheckpoint(checkpoint);
    signedHead = head;
    for (const seq of observed.keys()) if (seq <= head.seq) observed.delete(seq);
    // After the store has it: an anchor never names a checkpoint the store was not given.
    if (anchorPath !== null) writeAuditAnchor(anchorPath, checkpoint);
    return { status: 'signed', checkpoint };
  };

  const report = (outcome: Promise<CheckpointOutcome>): Promise<CheckpointOutcome | null> =>
    outcome.then(
      (value) => {
        options.onEvent(value);
        return value;
      },
      (error: unknown) => {
        options.onEvent({ status: 'failed', error });
        return null;
      },
    );

  const checkpoint = (): Promise<CheckpointOutcome | null> => {
    // A run not started yet will see every event appended so far: no need for a second one.
    if (queued !== null) return queued;
    const next = tail.then(() => {
      queued = null;
      return report(run());
    });
    queued = next;
    tail = next;
    return next;
  };

  const count = (events: number): void => {
    sinceLast += events;
    if (sinceLast >= options.everyEvents) void checkpoint();
  };

  return {
    observe(events) {
      if (closed) return;
      for (const event of events) observed.set(event.seq, { prevHash: event.prevHash, hash: event.hash });
      // Bounded: without the seen links the walk reads those events back from the store instead.
      if (observed.size > maxObserved) observed.clear();
      count(events.length);
    },
    appended(events) {
      if (!closed) count(events);
    },
    checkpoint: () => (closed ? Promise.resolve(null) : checkpoint()),
    async close() {
      if (closed) return;
      await checkpoint();
      closed = true;
    },
  };
}

type Link = { readonly prevHash: string; readonly hash: string };

function refuse(seq: number, message: string): CheckpointOutcome {
  return { status: 'refused', seq, message };
}

/** `head` followed by a link this process committed, or the refusal when it does not follow. */
function followSeen(head: ChainHead, seen: Link): ChainHead | CheckpointOutcome {
  return seen.prevHash === head.hash
    ? { seq: head.seq + 1, hash: seen.hash }
    : refuse(
        head.seq + 1,
        `event ${head.seq + 1}, committed here, follows a different event ${head.seq} than the chain holds: ` +
          'the store was changed under it; run airlock audit verify',
      );
}

/** Follows the chain from `base` to its end: seen links from memory, the rest from the store. */
async function walkChain(
  store: Store,
  observed: ReadonlyMap<number, Link>,
  base: ChainHead,
): Promise<ChainHead | CheckpointOutcome> {
  let head = base;
  for (;;) {
    const seen = observed.get(head.seq + 1);
    if (seen !== undefined) {
      const next = followSeen(head, seen);
      if ('status' in next) return next;
      head = next;
      continue;
    }
    const page = await store.listEvents({ afterSeq: head.seq, limit: CHECKPOINT_PAGE_SIZE });
    // The whole page is used: in a cluster the nodes' events interleave, and stopping at the next
    // event seen here would read a page for every few events of the others (each page up to the end
    // of the log). An event seen here still counts as this process committed it, not as read back.
    for (const event of page) {
      const own = event.seq === head.seq + 1 ? observed.get(event.seq) : undefined;
      if (own !== undefined) {
        const next = followSeen(head, own);
        if ('status' in next) return next;
        head = next;
        continue;
      }
      const problem = linkProblem(head, event);
      if (problem !== undefined) return refuse(event.seq, `${problem}; run airlock audit verify`);
      head = { seq: event.seq, hash: event.hash };
    }
    if (page.length < CHECKPOINT_PAGE_SIZE) return head;
  }
}

/** Why `event` does not follow `head` in a sound chain, or undefined when it does. */
function linkProblem(head: ChainHead, event: AuditEvent): string | undefined {
  if (event.seq !== head.seq + 1) return `event ${head.seq + 1} is missing`;
  if (event.prevHash !== head.hash) return `event ${event.seq} does not link to event ${head.seq}`;
  let recomputed: string;
  try {
    recomputed = hashEvent(event.prevHash, event);
  } catch {
    return `event ${event.seq} cannot be hashed`;
  }
  return recomputed === event.hash ? undefined : `event ${event.seq} does not match its hash`;
}

// Security limitations:
// - Events after the newest checkpoint are signed at the next one (every `everyEvents`, on the timer of
//   the audit trail, at close); until then only the hash chain covers them. A crash (kill -9) skips the
//   last checkpoint: the next start signs the backlog after re-verifying it.
// - A refusal stops signing until the chain verifies from the last signed head again (or its anchor is
//   removed by someone who has looked): signing over a tampered chain would launder it.
