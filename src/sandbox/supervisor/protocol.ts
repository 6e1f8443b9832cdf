/**
 * Frames exchanged with the in-sandbox supervisor (native/, frames.c and supervise.c). Both directions use
 * u32 length (of what follows), u8 type, u32 id, then the payload; integers are little-endian.
 * Pure: request encoding here; replies are decoded (as untrusted input) in reply-decoder.ts.
 */

export const requestTypes = {
  exec: 1,
  kill: 2,
  readFile: 3,
  writeFile: 4,
  list: 5,
  /** Bytes for a running command's stdin or terminal (at most MAX_INPUT_BYTES); empty: end of input. */
  input: 7,
  /** A terminal's new size: u16 cols, u16 rows. */
  resize: 8,
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

export const PROTOCOL_VERSION = 3;
/**
 * One INPUT frame's most bytes (native MAX_INPUT_BYTES); the next is sent after this one's OK. Typed
 * input goes in frames of 64 KiB; a bulk stream (a tree copied into the sandbox's tar) in larger ones.
 */
export const MAX_INPUT_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** A terminal's most columns or rows (native MAX_PTY_DIMENSION). */
export const MAX_PTY_DIMENSION = 1000;
export const execFlags = { stdinStream: 1, pty: 2 } as const;
/** The supervisor refuses request frames larger than this (native MAX_FRAME). */
export const MAX_REQUEST_PAYLOAD_BYTES = 4 * 1024 * 1024;
const HEADER_BYTES = 9;

export interface Frame {
  type: number;
  id: number;
  payload: Buffer;
}

/**
 * A frame as the buffers to write in order: its header, then the payload's pieces as they are (not
 * copied: a large file write goes out with one gathered write instead of being concatenated twice).
 */
export function encodeFrameParts(type: number, id: number, payload: readonly Buffer[]): Buffer[] {
  let length = 0;
  for (const piece of payload) length += piece.length;
  if (length > MAX_REQUEST_PAYLOAD_BYTES) {
    throw new RangeError(`frame payload of ${length} bytes exceeds ${MAX_REQUEST_PAYLOAD_BYTES}`);
  }
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(length + 5, 0);
  header.writeUInt8(type, 4);
  header.writeUInt32LE(id, 5);
  return [header, ...payload];
}

export function encodeFrame(type: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat(encodeFrameParts(type, id, [payload]));
}

export interface ExecRequest {
  executable: string;
  argv: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  timeoutMs: number;
  stdin: Buffer;
  /** Keep stdin open for `input` frames. */
  stdinStream?: boolean;
  /** Run on a pseudo-terminal of this size (stdin then stays open too). */
  pty?: { readonly cols: number; readonly rows: number };
}

/** Throws a RangeError unless both are whole numbers from 1 to MAX_PTY_DIMENSION. */
export function checkTerminalSize(cols: number, rows: number): void {
  for (const value of [cols, rows]) {
    if (!Number.isInteger(value) || value < 1 || value > MAX_PTY_DIMENSION) {
      throw new RangeError(`a terminal is 1 to ${MAX_PTY_DIMENSION} columns and rows, got ${cols}x${rows}`);
    }
  }
}

/** The exec flags word: EXEC_* in the low byte, a terminal's columns in bits 8-19, rows in 20-31. */
function execFlagsWord(request: ExecRequest): number {
  if (request.pty === undefined) return request.stdinStream === true ? execFlags.stdinStream : 0;
  checkTerminalSize(request.pty.cols, request.pty.rows);
  return (execFlags.pty | (request.pty.cols << 8) | (request.pty.rows << 20)) >>> 0;
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
    u32(execFlagsWord(request)),
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

/** A write request's fields before its data (the data follows as it is, see encodeFrameParts). */
export function encodeWriteFileHead(path: string, mode: number, flags: number): Buffer {
  const pathBytes = Buffer.from(path, 'utf8');
  if (pathBytes.includes(0)) throw new RangeError('path contains a NUL byte');
  return Buffer.concat([u32(mode), u32(flags), u32(pathBytes.length), pathBytes]);
}

export function encodeWriteFile(path: string, mode: number, flags: number, data: Buffer): Buffer {
  return Buffer.concat([encodeWriteFileHead(path, mode, flags), data]);
}

export function encodeList(path: string, maxEntries: number): Buffer {
  return Buffer.concat([u32(maxEntries), cString(path, 'path')]);
}

export function encodeResize(cols: number, rows: number): Buffer {
  checkTerminalSize(cols, rows);
  const payload = Buffer.alloc(4);
  payload.writeUInt16LE(cols, 0);
  payload.writeUInt16LE(rows, 2);
  return payload;
}
