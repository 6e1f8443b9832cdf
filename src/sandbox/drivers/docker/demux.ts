import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

const HEADER_BYTES = 8;
const STDOUT = 1;
const STDERR = 2;

/**
 * Splits an attached, non-TTY container stream (8-byte headers: stream type, 3 zero bytes, u32
 * big-endian length) into stdout, which it passes on as its readable side, and stderr, handed to
 * `onStderr`. Unlike docker-modem's demuxStream it keeps backpressure: while the stdout reader is
 * paused, no more input is taken, so the daemon and then the supervisor stop writing.
 */
export class DockerStreamDemux extends Transform {
  readonly #onStderr: (chunk: Buffer) => void;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #header: { type: number; length: number } | undefined;

  constructor(onStderr: (chunk: Buffer) => void) {
    super();
    this.#onStderr = onStderr;
  }

  #take(bytes: number): Buffer {
    const joined = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const taken = joined.subarray(0, bytes);
    const rest = joined.subarray(bytes);
    this.#pending = rest.length > 0 ? [rest] : [];
    this.#pendingBytes = rest.length;
    return taken;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    for (;;) {
      if (!this.#header) {
        if (this.#pendingBytes < HEADER_BYTES) break;
        const header = this.#take(HEADER_BYTES);
        this.#header = { type: header.readUInt8(0), length: header.readUInt32BE(4) };
      }
      const { type, length } = this.#header;
      if (length === 0) {
        this.#header = undefined;
        continue;
      }
      // Payloads are passed on as they arrive, without waiting for a whole frame.
      const available = Math.min(length, this.#pendingBytes);
      if (available === 0) break;
      const payload = this.#take(available);
      if (type === STDOUT) this.push(payload);
      else if (type === STDERR) this.#onStderr(payload);
      if (available === length) this.#header = undefined;
      else this.#header = { type, length: length - available };
    }
    callback();
  }
}
