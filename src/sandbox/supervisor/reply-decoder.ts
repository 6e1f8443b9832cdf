/**
 * Decoding of the supervisor's replies. Everything here reads bytes written inside the sandbox,
 * where a command may have taken over the supervisor or forged frames: every length and type is
 * checked before anything is read, nothing is buffered past a fixed bound, and a malformed frame is
 * a result (`{ ok: false, problem }`) the caller ends the sandbox for, never an exception. Pure.
 */
import { replyTypes } from './protocol.ts';
import type { Frame } from './protocol.ts';

export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly problem: string };

/**
 * The largest reply payload the supervisor ever sends: one read() of a pipe or file (READ_CHUNK in
 * native/helper.h). A header announcing more is a violation, so a forged length cannot make the host
 * wait for (and buffer) gigabytes.
 */
export const MAX_REPLY_PAYLOAD_BYTES = 64 * 1024;
const HEADER_BYTES = 9;
/** native/frames.c send_error: u32 errno and at most 511 bytes of message. */
const MAX_ERROR_MESSAGE_BYTES = 511;
/** The kernel's errno values are below 4096 (MAX_ERRNO). */
const MAX_ERRNO = 4095;
/** Linux's NAME_MAX: no directory entry name is longer. */
const MAX_NAME_BYTES = 255;
const ENTRY_HEADER_BYTES = 19;
/** Exit codes are 0..255 (-1: none); signals 1..64 (0: none). */
const MAX_EXIT_CODE = 255;
const MAX_SIGNAL = 64;

/** Payload sizes each reply type may have, in bytes (inclusive). */
const payloadBounds: ReadonlyMap<number, readonly [number, number]> = new Map([
  [replyTypes.ready, [12, 12]],
  [replyTypes.started, [4, 4]],
  [replyTypes.stdout, [1, MAX_REPLY_PAYLOAD_BYTES]],
  [replyTypes.stderr, [1, MAX_REPLY_PAYLOAD_BYTES]],
  [replyTypes.exited, [12, 12]],
  [replyTypes.data, [1, MAX_REPLY_PAYLOAD_BYTES]],
  // 0 bytes, or a u64 byte count after a file read.
  [replyTypes.ok, [0, 8]],
  [replyTypes.error, [4, 4 + MAX_ERROR_MESSAGE_BYTES]],
]);

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}

export interface PushResult {
  /**
   * Complete frames, in order, each of a known type with a payload size that type allows. A stdout or
   * stderr frame may come as several frames of its type and id, each with the next part of its payload
   * (at least one byte), as its bytes arrive: output is a byte stream, and handing on views of the
   * chunks read, instead of a copy of each frame joined from two of them, halves the bytes a bulk
   * output costs the host (a tree copied out is all stdout).
   */
  readonly frames: Frame[];
  /** Set when the stream broke the protocol; the frames before it are still in `frames`. */
  readonly problem?: string;
}

/** Reply types whose payload is a byte stream, passed on in parts as it arrives. */
const streamedTypes: ReadonlySet<number> = new Set([replyTypes.stdout, replyTypes.stderr]);

/**
 * Splits the supervisor's byte stream into frames. Holds at most one partial frame (header plus
 * MAX_REPLY_PAYLOAD_BYTES); after a violation it is dead and reports the same problem for any input.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #problem: string | undefined;
  /** The output frame being passed on in parts: its type, id and payload bytes still to come. */
  #streaming: { type: number; id: number; remaining: number } | null = null;

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.#bytes;
  }

  push(chunk: Buffer): PushResult {
    if (this.#problem !== undefined) return { frames: [], problem: this.#problem };
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      const streaming = this.#streaming;
      if (streaming !== null) {
        if (this.#bytes === 0) break;
        const payload = this.#takePart(streaming.remaining);
        streaming.remaining -= payload.length;
        if (streaming.remaining === 0) this.#streaming = null;
        frames.push({ type: streaming.type, id: streaming.id, payload });
        continue;
      }
      if (this.#bytes < HEADER_BYTES) break;
      const header = this.#peek(HEADER_BYTES);
      const length = header.readUInt32LE(0);
      const type = header.readUInt8(4);
      const bounds = payloadBounds.get(type);
      const problem =
        length < 5
          ? `a frame length of ${length}`
          : bounds === undefined
            ? `an unknown reply type ${type}`
            : length - 5 < bounds[0] || length - 5 > bounds[1]
              ? `a type ${type} reply of ${length - 5} bytes (allowed ${bounds[0]}..${bounds[1]})`
              : undefined;
      if (problem !== undefined) {
        this.#problem = problem;
        this.#chunks = [];
        this.#bytes = 0;
        this.#streaming = null;
        return { frames, problem };
      }
      const id = header.readUInt32LE(5);
      if (streamedTypes.has(type)) {
        // Its size is checked above; its payload goes on in parts from here.
        this.#take(HEADER_BYTES);
        this.#streaming = { type, id, remaining: length - 5 };
        continue;
      }
      if (this.#bytes < 4 + length) break;
      frames.push({ type, id, payload: this.#take(4 + length).subarray(HEADER_BYTES) });
    }
    return { frames };
  }

  /** The first `count` buffered bytes, joining only as many chunks as needed. */
  #peek(count: number): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= count) return first.subarray(0, count);
    const parts: Buffer[] = [];
    let have = 0;
    for (const chunk of this.#chunks) {
      parts.push(chunk);
      have += chunk.length;
      if (have >= count) break;
    }
    return Buffer.concat(parts, have).subarray(0, count);
  }

  /**
   * Up to `most` of the buffered bytes, from the first chunk only. A view when it is at least half of
   * that chunk, else a copy: a small part kept by whoever gets it must not keep a whole chunk alive, so
   * what views hold stays within twice the bytes they show.
   */
  #takePart(most: number): Buffer {
    const chunk = this.#chunks[0]!;
    const used = Math.min(chunk.length, most);
    const part = used * 2 >= chunk.length ? chunk.subarray(0, used) : Buffer.from(chunk.subarray(0, used));
    if (used === chunk.length) this.#chunks.shift();
    else this.#chunks[0] = chunk.subarray(used);
    this.#bytes -= used;
    return part;
  }

  /** Removes and returns the first `count` buffered bytes (a copy: chunks are not kept alive). */
  #take(count: number): Buffer {
    const taken = Buffer.allocUnsafe(count);
    let filled = 0;
    while (filled < count) {
      const chunk = this.#chunks[0]!;
      const used = Math.min(chunk.length, count - filled);
      chunk.copy(taken, filled, 0, used);
      filled += used;
      if (used === chunk.length) this.#chunks.shift();
      else this.#chunks[0] = chunk.subarray(used);
    }
    this.#bytes -= count;
    return taken;
  }
}

/** What the supervisor says about how commands are kept away from it (native/command-identity.c). */
export interface SupervisorFacts {
  /** It is the sandbox's pid 1, which commands cannot signal. */
  readonly pid1: boolean;
  /** Commands run as another uid than the supervisor and its keepers. */
  readonly separateUid: boolean;
  /** The Landlock ABI each command is confined with; 0 without Landlock. */
  readonly landlockAbi: number;
  /** The egress bridge listens on the sandbox's loopback (native/bridge.c). */
  readonly egressBridge: boolean;
}

const READY_PID1 = 1;
const READY_SEPARATE_UID = 2;
const READY_EGRESS_BRIDGE = 4;
const MAX_LANDLOCK_ABI = 1000;

/** READY: u32 protocol version, u32 Landlock ABI, u32 flags. */
export function decodeReady(payload: Buffer): Decoded<{ version: number; facts: SupervisorFacts }> {
  if (payload.length !== 12) return fail(`a ready report of ${payload.length} bytes`);
  const landlockAbi = payload.readUInt32LE(4);
  const flags = payload.readUInt32LE(8);
  if (
    landlockAbi > MAX_LANDLOCK_ABI ||
    (flags & ~(READY_PID1 | READY_SEPARATE_UID | READY_EGRESS_BRIDGE)) !== 0
  ) {
    return fail('a ready report with unknown flags');
  }
  return {
    ok: true,
    value: {
      version: payload.readUInt32LE(0),
      facts: {
        pid1: (flags & READY_PID1) !== 0,
        separateUid: (flags & READY_SEPARATE_UID) !== 0,
        landlockAbi,
        egressBridge: (flags & READY_EGRESS_BRIDGE) !== 0,
      },
    },
  };
}

export interface ExitInfo {
  exitCode: number | null;
  signalNumber: number | null;
  timedOut: boolean;
  killed: boolean;
  keeperLost: boolean;
}

function flag(payload: Buffer, offset: number): boolean | undefined {
  const value = payload.readUInt8(offset);
  return value === 0 ? false : value === 1 ? true : undefined;
}

/** EXITED: i32 exit code (-1: none), i32 signal (0: none), u8 timedOut, u8 killed, u8 keeperLost, u8 0. */
export function decodeExited(payload: Buffer): Decoded<ExitInfo> {
  if (payload.length !== 12) return fail(`an exit report of ${payload.length} bytes`);
  const code = payload.readInt32LE(0);
  const signal = payload.readInt32LE(4);
  if (code < -1 || code > MAX_EXIT_CODE) return fail(`exit code ${code}`);
  if (signal < 0 || signal > MAX_SIGNAL) return fail(`signal ${signal}`);
  if (code >= 0 && signal > 0) return fail('both an exit code and a signal');
  const timedOut = flag(payload, 8);
  const killed = flag(payload, 9);
  const keeperLost = flag(payload, 10);
  if (timedOut === undefined || killed === undefined || keeperLost === undefined || payload[11] !== 0) {
    return fail('exit report flags that are not 0 or 1');
  }
  return {
    ok: true,
    value: {
      exitCode: code >= 0 ? code : null,
      signalNumber: signal > 0 ? signal : null,
      timedOut,
      killed,
      keeperLost,
    },
  };
}

export interface ErrorInfo {
  errno: number;
  message: string;
}

/**
 * Text from inside the sandbox ends up in error messages people read in terminals and logs:
 * control characters (an escape sequence could rewrite a terminal) are replaced.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** ERROR: u32 errno, then the message (UTF-8, at most 511 bytes). */
export function decodeError(payload: Buffer): Decoded<ErrorInfo> {
  if (payload.length < 4 || payload.length > 4 + MAX_ERROR_MESSAGE_BYTES) {
    return fail(`an error report of ${payload.length} bytes`);
  }
  const errno = payload.readUInt32LE(0);
  if (errno > MAX_ERRNO) return fail(`errno ${errno}`);
  const message = payload.subarray(4).toString('utf8').replace(CONTROL_CHARACTERS, '?');
  return { ok: true, value: { errno, message } };
}

/** OK after a file read: u64 total bytes sent. */
export function decodeReadTotal(payload: Buffer): Decoded<number> {
  if (payload.length !== 8) return fail(`a read total of ${payload.length} bytes`);
  const total = payload.readBigUInt64LE(0);
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return fail(`a read total of ${total}`);
  return { ok: true, value: Number(total) };
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export interface FileEntry {
  name: string;
  kind: EntryKind;
  sizeBytes: number;
  modifiedMs: number;
}

const entryKinds: ReadonlyMap<number, EntryKind> = new Map([
  [0x66, 'file'], // f
  [0x64, 'directory'], // d
  [0x6c, 'symlink'], // l
  [0x6f, 'other'], // o
]);

const SLASH = 0x2f;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * One DATA frame of a listing: entries of u8 kind, u64 size, u64 mtimeMs, u16 nameLen, name. At
 * most `maxEntries` are decoded; a frame holding more, a truncated entry or an impossible name
 * (empty, `.`, `..`, with `/` or NUL, longer than NAME_MAX) is a violation.
 */
export function decodeEntries(payload: Buffer, maxEntries: number): Decoded<FileEntry[]> {
  const entries: FileEntry[] = [];
  let offset = 0;
  while (offset < payload.length) {
    if (entries.length >= maxEntries) return fail(`more than ${maxEntries} directory entries`);
    if (payload.length - offset < ENTRY_HEADER_BYTES) return fail('a truncated directory entry');
    const kind = entryKinds.get(payload.readUInt8(offset));
    if (kind === undefined) return fail(`directory entry kind ${payload.readUInt8(offset)}`);
    const size = payload.readBigUInt64LE(offset + 1);
    const modified = payload.readBigUInt64LE(offset + 9);
    const nameLength = payload.readUInt16LE(offset + 17);
    if (size > MAX_SAFE || modified > MAX_SAFE) return fail('a directory entry size or time out of range');
    if (nameLength === 0 || nameLength > MAX_NAME_BYTES) return fail(`a name of ${nameLength} bytes`);
    const start = offset + ENTRY_HEADER_BYTES;
    if (payload.length - start < nameLength) return fail('a truncated directory entry name');
    const raw = payload.subarray(start, start + nameLength);
    if (raw.includes(SLASH) || raw.includes(0)) return fail('a directory entry name with / or NUL');
    const name = raw.toString('utf8');
    if (name === '.' || name === '..') return fail(`a directory entry named ${name}`);
    entries.push({ name, kind, sizeBytes: Number(size), modifiedMs: Number(modified) });
    offset = start + nameLength;
  }
  return { ok: true, value: entries };
}
