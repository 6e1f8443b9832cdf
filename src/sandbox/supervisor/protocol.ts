/**
 * Frames exchanged with the in-sandbox supervisor (native/, frames.c and supervise.c). Both directions use
 * u32 length (of what follows), u8 type, u32 id, then the payload; integers are little-endian.
 * Pure: encoding and decoding only.
 */

export const requestTypes = {
  exec: 1,
  kill: 2,
  readFile: 3,
  writeFile: 4,
  list: 5,
} as const;

export const replyTypes = {
  ready: 64,
  started: 65,
  stdout: 66,
  stderr: 67,
  exited: 68,
  data: 69,
  ok: 70,
  error: 71,
} as const;

export const PROTOCOL_VERSION = 1;
/** The supervisor refuses request frames larger than this (native MAX_FRAME). */
export const MAX_REQUEST_PAYLOAD_BYTES = 4 * 1024 * 1024;
const HEADER_BYTES = 9;

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_REQUEST_PAYLOAD_BYTES) {
    throw new RangeError(`frame payload of ${payload.length} bytes exceeds ${MAX_REQUEST_PAYLOAD_BYTES}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(payload.length + 5, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32LE(id, 5);
  return Buffer.concat([header, payload]);
}

/**
 * Splits a byte stream into frames. Keeps at most one partial frame; a frame header announcing
 * more than `maxPayloadBytes` is a protocol violation (the supervisor never sends one), so the
 * decoder throws rather than buffering without bound.
 */
export class FrameDecoder {
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  readonly #maxPayloadBytes: number;

  constructor(maxPayloadBytes = 1024 * 1024) {
    this.#maxPayloadBytes = maxPayloadBytes;
  }

  push(chunk: Buffer): Frame[] {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    let buffer = this.#pending.length === 1 ? chunk : Buffer.concat(this.#pending, this.#pendingBytes);
    const frames: Frame[] = [];
    let offset = 0;
    while (buffer.length - offset >= HEADER_BYTES) {
      const length = buffer.readUInt32LE(offset);
      if (length < 5 || length - 5 > this.#maxPayloadBytes) {
        throw new RangeError(`supervisor sent a malformed frame (length ${length})`);
      }
      if (buffer.length - offset < 4 + length) break;
      frames.push({
        type: buffer.readUInt8(offset + 4),
        id: buffer.readUInt32LE(offset + 5),
        payload: Buffer.from(buffer.subarray(offset + HEADER_BYTES, offset + 4 + length)),
      });
      offset += 4 + length;
    }
    buffer = buffer.subarray(offset);
    this.#pending = buffer.length > 0 ? [buffer] : [];
    this.#pendingBytes = buffer.length;
    return frames;
  }
}

export interface ExecRequest {
  executable: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  timeoutMs: number;
  stdin: Buffer;
}

function cString(text: string, what: string): Buffer {
  if (text.includes('\0')) throw new RangeError(`${what} contains a NUL byte`);
  return Buffer.from(`${text}\0`, 'utf8');
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value, 0);
  return buffer;
}

export function encodeExec(request: ExecRequest): Buffer {
  const envEntries = Object.entries(request.env).map(([key, value]) =>
    cString(`${key}=${value}`, `env ${key}`),
  );
  return Buffer.concat([
    u32(Math.max(0, Math.min(request.timeoutMs, 0xffffffff))),
    u32(0),
    u32(request.stdin.length),
    request.stdin,
    cString(request.executable, 'executable'),
    cString(request.cwd, 'cwd'),
    u32(request.argv.length),
    ...request.argv.map((arg, index) => cString(arg, `argv[${index}]`)),
    u32(envEntries.length),
    ...envEntries,
  ]);
}

export function encodeReadFile(path: string, maxBytes: number): Buffer {
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(maxBytes), 0);
  return Buffer.concat([size, cString(path, 'path')]);
}

export const writeFlags = { createParents: 1, append: 2 } as const;

export function encodeWriteFile(path: string, mode: number, flags: number, data: Buffer): Buffer {
  const pathBytes = Buffer.from(path, 'utf8');
  if (pathBytes.includes(0)) throw new RangeError('path contains a NUL byte');
  return Buffer.concat([u32(mode), u32(flags), u32(pathBytes.length), pathBytes, data]);
}

export function encodeList(path: string, maxEntries: number): Buffer {
  return Buffer.concat([u32(maxEntries), cString(path, 'path')]);
}

export interface ExitInfo {
  exitCode: number | null;
  signalNumber: number | null;
  timedOut: boolean;
  killed: boolean;
  keeperLost: boolean;
}

export function decodeExited(payload: Buffer): ExitInfo {
  const code = payload.readInt32LE(0);
  const signal = payload.readInt32LE(4);
  return {
    exitCode: code >= 0 ? code : null,
    signalNumber: signal > 0 ? signal : null,
    timedOut: payload.readUInt8(8) === 1,
    killed: payload.readUInt8(9) === 1,
    keeperLost: payload.readUInt8(10) === 1,
  };
}

export interface ErrorInfo {
  errno: number;
  message: string;
}

export function decodeError(payload: Buffer): ErrorInfo {
  return { errno: payload.readUInt32LE(0), message: payload.subarray(4).toString('utf8') };
}

export type EntryKind = 'file' | 'directory' | 'symlink' | 'other';

export interface FileEntry {
  name: string;
  kind: EntryKind;
  sizeBytes: number;
  modifiedMs: number;
}

const entryKinds: Record<string, EntryKind> = { f: 'file', d: 'directory', l: 'symlink', o: 'other' };

export function decodeEntries(payload: Buffer): FileEntry[] {
  const entries: FileEntry[] = [];
  let offset = 0;
  while (offset + 19 <= payload.length) {
    const kind = entryKinds[String.fromCharCode(payload.readUInt8(offset))] ?? 'other';
    const sizeBytes = Number(payload.readBigUInt64LE(offset + 1));
    const modifiedMs = Number(payload.readBigUInt64LE(offset + 9));
    const nameLength = payload.readUInt16LE(offset + 17);
    const name = payload.subarray(offset + 19, offset + 19 + nameLength).toString('utf8');
    entries.push({ name, kind, sizeBytes, modifiedMs });
    offset += 19 + nameLength;
  }
  return entries;
}
