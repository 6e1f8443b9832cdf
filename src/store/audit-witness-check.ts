import { open } from 'node:fs/promises';
import { hashEvent } from './audit-chain.ts';
import type { AuditEvent, JsonObject, VerifyFailure } from './types.ts';

/**
 * Compares a witness file (see audit-witness.ts) with the store, line by line, in bounded memory. The
 * witness must be a sound chain of its own (each line hashes to its hash and links to the line before),
 * and every event it records must be in the store with the same hash. Store events after the witness's
 * last line are reported as not witnessed, not as tampering: the sink may be behind, or have failed
 * (which it reported when it did).
 */

export interface WitnessSummary {
  readonly path: string;
  /** Records compared. */
  readonly records: number;
  /** Seq of the first and the last record; 0 for an empty witness. */
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** Store events after the witness's last record. */
  readonly unwitnessedEvents: number;
}

export type WitnessComparison = { readonly ok: true; readonly summary: WitnessSummary } | VerifyFailure;

/** Reads a page of store events after `afterSeq`, oldest first. */
export type EventPager = (afterSeq: number, limit: number) => Promise<readonly AuditEvent[]>;

/** A line longer than this is not an event record; refused rather than held in memory. */
export const MAX_WITNESS_LINE_BYTES = 32 * 1024 * 1024;
const PAGE_SIZE = 1000;
const CHUNK_BYTES = 64 * 1024;

interface WitnessRecord {
  readonly seq: number;
  readonly at: string;
  readonly type: string;
  readonly sessionId: string | null;
  readonly commandId: string | null;
  readonly data: JsonObject;
  readonly prevHash: string;
  readonly hash: string;
}

/**
 * `storeLastSeq` is the newest event the store's own verify reached. `checked` in a failure counts the
 * witness records that matched before it.
 */
export async function compareWitness(
  path: string,
  readEvents: EventPager,
  storeLastSeq: number,
): Promise<WitnessComparison> {
  let records = 0;
  let first = 0;
  let previous: WitnessRecord | undefined;
  let page: readonly AuditEvent[] = [];
  let pageIndex = 0;
  const fail = (seq: number, message: string): VerifyFailure => ({
    ok: false,
    checked: records,
    seq,
    problem: 'witness-mismatch',
    message: `witness ${path}: ${message}`,
  });
  const storeEvent = async (seq: number): Promise<AuditEvent | undefined> => {
    if (pageIndex >= page.length || page[pageIndex]?.seq !== seq) {
      page = await readEvents(seq - 1, PAGE_SIZE);
      pageIndex = 0;
    }
    const event = page[pageIndex];
    pageIndex++;
    return event?.seq === seq ? event : undefined;
  };

  let lineNumber = 0;
  for await (const line of readLines(path)) {
    lineNumber++;
    if (line === null) return fail(previous?.seq ?? 0, `line ${lineNumber} is longer than any event record`);
    // The sink never writes an empty line: only a final newline, which leaves nothing after it.
    const record = parseRecord(line);
    if (record === undefined) {
      return fail(
        (previous?.seq ?? 0) + 1,
        `line ${lineNumber} is not an event record (edited, or cut off by a failed write the sink reported)`,
      );
    }
    if (!hashesTo(record)) {
      return fail(
        record.seq,
        `line ${lineNumber} (event ${record.seq}) does not match its own hash: the witness was edited`,
      );
    }
    if (previous !== undefined && (record.seq !== previous.seq + 1 || record.prevHash !== previous.hash)) {
      return fail(
        record.seq,
        `line ${lineNumber} (event ${record.seq}) does not follow event ${previous.seq}: lines were removed or reordered`,
      );
    }
    const stored = await storeEvent(record.seq);
    if (stored === undefined) {
      return fail(
        record.seq,
        `it records event ${record.seq}, which the store does not have: events were deleted from the store`,
      );
    }
    if (stored.hash !== record.hash) {
      return fail(
        record.seq,
        `event ${record.seq} differs between the store and the witness: one of them was rewritten`,
      );
    }
    if (records === 0) first = record.seq;
    records++;
    previous = record;
  }
  const lastSeq = previous?.seq ?? 0;
  return {
    ok: true,
    summary: {
      path,
      records,
      firstSeq: first,
      lastSeq,
      unwitnessedEvents: Math.max(0, storeLastSeq - lastSeq),
    },
  };
}

function hashesTo(record: WitnessRecord): boolean {
  try {
    return hashEvent(record.prevHash, { ...record, type: record.type as AuditEvent['type'] }) === record.hash;
  } catch {
    return false;
  }
}

function parseRecord(line: string): WitnessRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const { seq, at, type, sessionId, commandId, data, prevHash, hash } = value as Record<string, unknown>;
  const textOrNull = (field: unknown): field is string | null => field === null || typeof field === 'string';
  if (
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 1 ||
    typeof at !== 'string' ||
    typeof type !== 'string' ||
    !textOrNull(sessionId) ||
    !textOrNull(commandId) ||
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data) ||
    typeof prevHash !== 'string' ||
    typeof hash !== 'string'
  ) {
    return undefined;
  }
  return { seq, at, type, sessionId, commandId, data: data as JsonObject, prevHash, hash };
}

/**
 * The file's lines without their newlines, read in chunks; a line longer than the limit comes out as
 * null (and ends the comparison) instead of growing a buffer without bound.
 */
async function* readLines(path: string): AsyncGenerator<string | null> {
  const handle = await open(path, 'r');
  try {
    const chunk = Buffer.alloc(CHUNK_BYTES);
    let parts: Buffer[] = [];
    let partBytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      let start = 0;
      for (
        let index = chunk.indexOf(10, 0);
        index !== -1 && index < bytesRead;
        index = chunk.indexOf(10, start)
      ) {
        parts.push(Buffer.from(chunk.subarray(start, index)));
        yield Buffer.concat(parts).toString('utf8');
        parts = [];
        partBytes = 0;
        start = index + 1;
      }
      if (start < bytesRead) {
        parts.push(Buffer.from(chunk.subarray(start, bytesRead)));
        partBytes += bytesRead - start;
        if (partBytes > MAX_WITNESS_LINE_BYTES) {
          yield null;
          return;
        }
      }
    }
    if (partBytes > 0) yield Buffer.concat(parts).toString('utf8');
  } finally {
    await handle.close();
  }
}
