import { open, type FileHandle } from 'node:fs/promises';
import { auditEventJson } from './audit-export.ts';
import type { AuditEvent, Store } from './types.ts';

/**
 * The witness: every audit event, as the JSON line `airlock audit export` writes (hashes included),
 * appended to a file outside the store, opened O_APPEND. Whoever rewrites the database must also
 * rewrite this file to stay unseen; put it where they cannot (another machine's mount, a file made
 * append-only with `chattr +a`, a log shipper's input).
 *
 * The store stays the source of truth: the sink follows it. Events committed here are written from
 * memory as they come; anything else (events of another process, a backlog after a failure, a first
 * start) is read back from the store after the witness's last line. A failing sink therefore loses
 * nothing the store has: it reports the failure, retries with back-off, and catches up.
 */

/** Events written per batch and read per page from the store. */
const WITNESS_BATCH = 1000;
/** Characters gathered before a write(): what one write holds in memory at most (plus one event). */
const MAX_WRITE_CHARS = 1024 * 1024;
/** Events kept in memory while the sink is behind; past it they are re-read from the store instead. */
export const MAX_PENDING_WITNESS_EVENTS = 10_000;
/** How much of the file's end is read to find its last record. Events are far smaller. */
const TAIL_BYTES = 4 * 1024 * 1024;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;
/** How long close waits for a write that hangs (a dead network mount) before giving up on it. */
const CLOSE_TIMEOUT_MS = 5000;

export type WitnessEvent =
  | { readonly status: 'failed'; readonly error: unknown; readonly retryInMs: number }
  | { readonly status: 'recovered'; readonly lastSeq: number }
  /** The witness does not belong to this store's history: the sink stops rather than mix the two. */
  | { readonly status: 'refused'; readonly message: string };

export interface WitnessSinkOptions {
  readonly path: string;
  readonly store: Store;
  /** Failures, recoveries and refusals, for logs and metrics. */
  readonly onEvent: (event: WitnessEvent) => void;
}

export interface WitnessSink {
  /** Events just committed, in seq order. Never throws and never waits. */
  offer(events: readonly AuditEvent[]): void;
  /** Something was appended that `offer` did not see: read the store after the witness's last line. */
  catchUp(): void;
  /** Resolves once everything offered so far is written, or the attempt failed (and was reported). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export function createWitnessSink(options: WitnessSinkOptions): WitnessSink {
  const { path, store } = options;
  let file: FileHandle | null = null;
  /** Seq of the witness's last record once the file is open. */
  let lastSeq = 0;
  let pending: AuditEvent[] = [];
  let storeAhead = true;
  let pumping: Promise<void> | null = null;
  let again = false;
  let failures = 0;
  let retry: NodeJS.Timeout | null = null;
  let refused = false;
  /** close() has begun: no more offers or retries, one last catch-up. */
  let stopping = false;
  let closed = false;

  const openWitness = async (): Promise<void> => {
    const opened = await openWitnessFile(path, store);
    if (opened.status === 'refused') {
      refused = true;
      options.onEvent(opened);
      return;
    }
    lastSeq = opened.lastSeq;
    file = opened.handle;
  };

  const nextBatch = async (): Promise<AuditEvent[]> => {
    const next = await nextWitnessBatch(store, { pending, lastSeq, storeAhead });
    pending = next.pending;
    storeAhead = next.storeAhead;
    return next.batch;
  };

  const drain = async (): Promise<void> => {
    if (file === null) await openWitness();
    for (;;) {
      const handle = file;
      if (handle === null) return;
      const batch = await nextBatch();
      if (batch.length === 0) return;
      // Written in pieces of about MAX_WRITE_CHARS: a batch of large events is never one huge string.
      let text = '';
      for (const [index, event] of batch.entries()) {
        text += `${auditEventJson(event)}\n`;
        if (text.length >= MAX_WRITE_CHARS || index === batch.length - 1) {
          await writeAll(handle, text);
          lastSeq = event.seq;
          text = '';
        }
      }
    }
  };

  const scheduleRetry = (delayMs: number): void => {
    if (stopping || retry !== null) return;
    retry = setTimeout(() => {
      retry = null;
      void pump();
    }, delayMs);
    // A sink waiting to retry must not keep the process alive on its own.
    retry.unref();
  };

  const pump = (): Promise<void> => {
    if (refused || closed) return Promise.resolve();
    if (pumping !== null) {
      again = true;
      return pumping;
    }
    pumping = (async () => {
      try {
        do {
          again = false;
          await drain();
        } while (again && !refused);
        if (failures > 0 && !refused) {
          failures = 0;
          options.onEvent({ status: 'recovered', lastSeq });
        }
      } catch (error) {
        const broken = file;
        file = null;
        await broken?.close().catch(() => undefined);
        // Whatever was held in memory is re-read from the store once the file can be written again.
        storeAhead = true;
        failures++;
        const retryInMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.min(failures - 1, 16));
        options.onEvent({ status: 'failed', error, retryInMs });
        scheduleRetry(retryInMs);
      } finally {
        pumping = null;
      }
    })();
    return pumping;
  };

  // While a retry is scheduled, the retry pumps: one failure per back-off step, not one per commit.
  const waiting = (): boolean => retry !== null;

  return {
    offer(events) {
      if (stopping || refused || events.length === 0) return;
      pending.push(...events);
      if (pending.length > MAX_PENDING_WITNESS_EVENTS) {
        pending = [];
        storeAhead = true;
      }
      if (!waiting()) void pump();
    },
    catchUp() {
      if (stopping || refused) return;
      storeAhead = true;
      if (!waiting()) void pump();
    },
    flush: () => pump(),
    async close() {
      if (stopping) return;
      stopping = true;
      if (retry !== null) clearTimeout(retry);
      retry = null;
      if (!refused) {
        // One last catch-up, bounded in time: a hung mount must not hold up shutdown.
        storeAhead = true;
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
        });
        await Promise.race([pump(), timeout]);
        clearTimeout(timer);
      }
      closed = true;
      const handle = file;
      file = null;
      if (handle !== null) {
        await handle.datasync().catch(() => undefined);
        await handle.close().catch(() => undefined);
      }
    },
  };
}

/**
 * Opens the witness for appending and finds its last record, which this store must have with the same
 * hash: a witness of another history is refused rather than continued.
 */
async function openWitnessFile(
  path: string,
  store: Store,
): Promise<
  | { readonly status: 'open'; readonly handle: FileHandle; readonly lastSeq: number }
  | { readonly status: 'refused'; readonly message: string }
> {
  // O_APPEND: every write lands at the end, whatever else appends to the file.
  const handle = await open(path, 'a', 0o600);
  try {
    const tail = await readTail(path);
    if (tail.cut) {
      // A record cut off mid-write (a full disk, a crash) stays visible as a damaged line; the next
      // record starts on a line of its own.
      await handle.write('\n');
    }
    if (tail.last !== null) {
      const [stored] = await store.listEvents({ afterSeq: tail.last.seq - 1, limit: 1 });
      if (stored === undefined || stored.seq !== tail.last.seq || stored.hash !== tail.last.hash) {
        await handle.close();
        return {
          status: 'refused',
          message:
            `the witness ${path} ends with event ${tail.last.seq}, which this store does not have with that hash: ` +
            'events were removed from the store, or the file belongs to another store; run airlock audit verify --witness',
        };
      }
    }
    return { status: 'open', handle, lastSeq: tail.last?.seq ?? 0 };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

/**
 * The next events to write after `lastSeq`: from the offered ones when they continue the witness,
 * otherwise a page read back from the store.
 */
async function nextWitnessBatch(
  store: Store,
  state: { readonly pending: AuditEvent[]; readonly lastSeq: number; readonly storeAhead: boolean },
): Promise<{ batch: AuditEvent[]; pending: AuditEvent[]; storeAhead: boolean }> {
  const { lastSeq } = state;
  let { pending } = state;
  const fresh = pending.findIndex((event) => event.seq > lastSeq);
  if (fresh !== 0) pending = fresh === -1 ? [] : pending.slice(fresh);
  if (pending[0]?.seq === lastSeq + 1) {
    const batch: AuditEvent[] = [];
    for (const event of pending) {
      if (batch.length === WITNESS_BATCH || event.seq !== lastSeq + 1 + batch.length) break;
      batch.push(event);
    }
    return { batch, pending, storeAhead: state.storeAhead };
  }
  if (!state.storeAhead && pending.length === 0) return { batch: [], pending, storeAhead: false };
  const page = await store.listEvents({ afterSeq: lastSeq, limit: WITNESS_BATCH });
  // Offered events past a gap the store does not fill cannot be placed: the store read finds them later.
  return {
    batch: page,
    pending: page.length === 0 ? [] : pending,
    storeAhead: page.length < WITNESS_BATCH ? false : state.storeAhead,
  };
}

async function writeAll(handle: FileHandle, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset);
    if (bytesWritten === 0) throw new Error('the witness file took no bytes');
    offset += bytesWritten;
  }
}

interface Tail {
  /** The last record in the file, or null for an empty file. */
  readonly last: { readonly seq: number; readonly hash: string } | null;
  /** The file does not end with a newline: its last write was cut off. */
  readonly cut: boolean;
}

/** Finds the last whole record near the end of the file without reading the rest of it. */
async function readTail(path: string): Promise<Tail> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    if (size === 0) return { last: null, cut: false };
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, size - length);
    const text = buffer.subarray(0, bytesRead).toString('utf8');
    const cut = !text.endsWith('\n');
    const lines = text.split('\n');
    // The first line may be a partial one when the window starts mid-file; it is never trusted alone.
    for (let index = lines.length - 1; index >= (length < size ? 1 : 0); index--) {
      if (index === lines.length - 1 && cut) continue;
      const record = parseRecordHead(lines[index] ?? '');
      if (record !== undefined) return { last: record, cut };
    }
    throw new Error(`the witness ${path} has no event record in its last ${length} bytes`);
  } finally {
    await handle.close();
  }
}

function parseRecordHead(line: string): { seq: number; hash: string } | undefined {
  if (line.trim() === '') return undefined;
  try {
    const value = JSON.parse(line) as { seq?: unknown; hash?: unknown } | null;
    return typeof value?.seq === 'number' && typeof value.hash === 'string'
      ? { seq: value.seq, hash: value.hash }
      : undefined;
  } catch {
    return undefined;
  }
}

// Security limitations:
// - The witness is only as independent as the place it is written to: on the same disk and account as
//   the store, whoever rewrites the store can rewrite it too.
// - Lines reach the kernel at once but are synced to disk only at close: a host crash (not a process
//   crash) may lose the newest lines; the store, synced on every commit, still has them.
// - A record cut off mid-write stays in the file as a damaged line, which verify reports.
