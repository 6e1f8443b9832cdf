import type { OutputSink } from '../sandbox/index.ts';

/**
 * The latest output of a running background command, for polling: a bounded window of the newest
 * bytes. The window starts at a line start so a token cut in half by the window edge (which the
 * redactor would no longer recognise) is dropped rather than shown.
 */
export class LiveTail implements OutputSink {
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #bytes = 0;
  #totalBytes = 0;
  #cut = false;

  constructor(maxBytes = 64 * 1024) {
    this.#maxBytes = maxBytes;
  }

  write(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    this.#totalBytes += chunk.length;
    while (this.#bytes > this.#maxBytes && this.#chunks.length > 1) {
      const dropped = this.#chunks.shift() as Buffer;
      this.#bytes -= dropped.length;
      this.#cut = true;
    }
    if (this.#bytes > this.#maxBytes) {
      const only = this.#chunks[0] as Buffer;
      this.#chunks = [only.subarray(only.length - this.#maxBytes)];
      this.#bytes = this.#maxBytes;
      this.#cut = true;
    }
    return true;
  }

  once(): unknown {
    return this;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  text(): string {
    let bytes = Buffer.concat(this.#chunks);
    if (this.#cut) {
      const newline = bytes.indexOf(0x0a);
      bytes = newline === -1 ? Buffer.alloc(0) : bytes.subarray(newline + 1);
    }
    return bytes.toString('utf8');
  }
}
