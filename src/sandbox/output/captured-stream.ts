import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';

export interface CaptureLimits {
  /** Bytes kept in memory and returned as the result's text. */
  maxMemoryBytes: number;
  /** Bytes kept on disk for paging; anything past this is counted, not kept. */
  maxStoredBytes: number;
}

export const defaultCaptureLimits: CaptureLimits = {
  maxMemoryBytes: 1024 * 1024,
  maxStoredBytes: 16 * 1024 * 1024,
};

/** Length of `bytes` without a trailing, incomplete UTF-8 sequence. */
function completeUtf8Length(bytes: Buffer): number {
  // A UTF-8 sequence is at most 4 bytes: look back at most 3 for the start of the last one.
  for (let back = 1; back <= Math.min(3, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

/**
 * One output stream of a command. Memory holds at most `maxMemoryBytes` (the head); once a stream
 * outgrows it, everything up to `maxStoredBytes` goes to a spool file so it can be paged later, and
 * the rest is only counted. An agent printing gigabytes therefore costs bounded memory and disk.
 */
export class CapturedStream {
  readonly #limits: CaptureLimits;
  readonly #spoolPath: string;
  #head: Buffer[] = [];
  #headBytes = 0;
  #totalBytes = 0;
  #storedBytes = 0;
  #spoolFd: number | undefined;
  #spooled = false;

  constructor(spoolPath: string, limits: CaptureLimits = defaultCaptureLimits) {
    this.#spoolPath = spoolPath;
    this.#limits = limits;
  }

  write(chunk: Buffer): void {
    this.#totalBytes += chunk.length;
    const room = this.#limits.maxMemoryBytes - this.#headBytes;
    if (room > 0) {
      const kept = chunk.length <= room ? chunk : chunk.subarray(0, room);
      this.#head.push(kept);
      this.#headBytes += kept.length;
    }
    if (this.#totalBytes > this.#limits.maxMemoryBytes) {
      // Nothing is stored past the head: no spool file at all.
      if (this.#limits.maxStoredBytes === 0) return;
      if (this.#spoolFd === undefined) {
        this.#spoolFd = openSync(this.#spoolPath, 'w', 0o600);
        this.#spooled = true;
        // Until now "stored" meant the in-memory head; from here it is what the spool holds.
        this.#storedBytes = 0;
        // The head already in memory is the start of the stream; the spool holds the whole stream.
        const previous = this.#totalBytes - chunk.length;
        this.#append(Buffer.concat(this.#head).subarray(0, previous));
      }
      this.#append(chunk);
    } else {
      this.#storedBytes = this.#totalBytes;
    }
  }

  #append(bytes: Buffer): void {
    const room = this.#limits.maxStoredBytes - this.#storedBytes;
    if (room <= 0 || this.#spoolFd === undefined) return;
    const kept = bytes.length <= room ? bytes : bytes.subarray(0, room);
    writeSync(this.#spoolFd, kept);
    this.#storedBytes += kept.length;
  }

  /** Stops writing; the spool stays readable until `discard()`. */
  close(): void {
    if (this.#spoolFd !== undefined) closeSync(this.#spoolFd);
    this.#spoolFd = undefined;
  }

  /** The in-memory head as text; a character the memory cap cut in two is left out, not mangled. */
  get text(): string {
    const head = Buffer.concat(this.#head, this.#headBytes);
    return (this.truncated ? head.subarray(0, completeUtf8Length(head)) : head).toString('utf8');
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  get storedBytes(): number {
    return this.#storedBytes;
  }

  /** True when the in-memory text is not the whole stream. */
  get truncated(): boolean {
    return this.#totalBytes > this.#headBytes;
  }

  get spoolPath(): string | undefined {
    return this.#spooled ? this.#spoolPath : undefined;
  }

  /** Reads stored bytes [offset, offset + length); past what was stored returns fewer bytes. */
  read(offset: number, length: number): Buffer {
    const end = Math.min(offset + length, this.#storedBytes);
    if (offset >= end) return Buffer.alloc(0);
    if (!this.#spooled) return Buffer.concat(this.#head, this.#headBytes).subarray(offset, end);
    const buffer = Buffer.alloc(end - offset);
    const fd = openSync(this.#spoolPath, 'r');
    try {
      const read = readSync(fd, buffer, 0, buffer.length, offset);
      return buffer.subarray(0, read);
    } finally {
      closeSync(fd);
    }
  }

  discard(): void {
    this.close();
    if (this.#spooled) rmSync(this.#spoolPath, { force: true });
    this.#spooled = false;
    this.#storedBytes = Math.min(this.#storedBytes, this.#headBytes);
  }
}
