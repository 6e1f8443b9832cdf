/**
 * A tar archive made in pieces of about a MiB, written straight into each piece: headers in place,
 * and a small file's content read from its descriptor into the piece itself. A tree of many small
 * files then costs no buffer of its own per file and no copy into the piece; an entry whose content is
 * already in hand is copied in once (`add`).
 */
import { tarEntryParts, tarHeaderBytes } from './tar-writer.ts';
import type { TarWriteHeader } from './tar-writer.ts';

const BLOCK = 512;
const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** Fills `into` from the start (up to its length) and says how many bytes it put there. */
export type ReadInto = (into: Buffer) => number;

export class TarPacker {
  readonly #pieceBytes: number;
  /** Allocated when the first entry of a piece comes. */
  #piece: Buffer = Buffer.alloc(0);
  #used = 0;

  constructor(pieceBytes = 1024 * 1024) {
    this.#pieceBytes = pieceBytes;
  }

  /**
   * Room for `bytes` more in the piece: the piece so far is handed over first when they do not fit.
   * Each piece handed over is a buffer of its own, never written to again.
   */
  #makeRoom(bytes: number, done: Buffer[]): void {
    if (this.#used + bytes <= this.#piece.length) return;
    if (this.#used > 0) done.push(this.take());
    // Uninitialised: every byte handed over is written first (headers, content, zero padding).
    this.#piece = Buffer.allocUnsafe(Math.max(this.#pieceBytes, bytes));
  }

  /** Adds an entry whose content is in hand (copied into the piece); returns the pieces it completed. */
  add(header: TarWriteHeader, content?: Buffer): Buffer[] {
    const done: Buffer[] = [];
    const parts = tarEntryParts(header, content);
    let bytes = 0;
    for (const part of parts) bytes += part.length;
    this.#makeRoom(bytes, done);
    for (const part of parts) this.#used += part.copy(this.#piece, this.#used);
    if (this.#used >= this.#pieceBytes) done.push(this.take());
    return done;
  }

  /**
   * Adds a file of at most `sizeBytes`, its content read by `read` straight into the piece; the header
   * says what `read` put there (less, when the file shrank meanwhile). Returns the pieces it completed.
   */
  addRead(header: TarWriteHeader, sizeBytes: number, read: ReadInto): Buffer[] {
    const done: Buffer[] = [];
    const headBytes = tarHeaderBytes(header);
    this.#makeRoom(headBytes + padded(sizeBytes), done);
    const at = this.#used + headBytes;
    const got = sizeBytes === 0 ? 0 : read(this.#piece.subarray(at, at + sizeBytes));
    const content = this.#piece.subarray(at, at + got);
    // The content is in place already: only the header is written before it, and the padding after.
    const [head] = tarEntryParts(header, content);
    (head as Buffer).copy(this.#piece, this.#used);
    const end = at + padded(got);
    this.#piece.fill(0, at + got, end);
    this.#used = end;
    if (this.#used >= this.#pieceBytes) done.push(this.take());
    return done;
  }

  /** Whatever is gathered, as one buffer (empty when nothing is); the next entries go in a new piece. */
  take(): Buffer {
    const piece = this.#piece.subarray(0, this.#used);
    this.#piece = Buffer.alloc(0);
    this.#used = 0;
    return piece;
  }
}
