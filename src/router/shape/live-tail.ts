import type { OutputSink } from '../../sandbox/index.ts';
import { KeyBlockTracker, type KeyBlockState } from './key-blocks.ts';

/** How the window of a `LiveTail` begins, for a reader that must not start in the middle of a secret. */
export interface WindowStart {
  /** Bytes the command wrote before the window. */
  readonly droppedBytes: number;
  /** The window begins inside a line whose start was dropped. */
  readonly midLine: boolean;
  /** Whether a private-key block opened in the dropped bytes is still open where the window begins. */
  readonly keyBlock: KeyBlockState;
}

export interface LiveTailSubscription {
  /** The window as it is now, raw; everything written afterwards goes to the listener. */
  readonly window: Buffer;
  readonly windowStart: WindowStart;
  unsubscribe(): void;
}

/**
 * The latest output of a running background command, for polling: a bounded window of the newest
 * bytes. The window starts at a line start so a token cut in half by the window edge (which the
 * redactor would no longer recognise) is dropped rather than shown; for the same reason it starts after
 * the END of a private-key block whose BEGIN has left the window.
 */
export class LiveTail implements OutputSink {
  readonly #maxBytes: number;
  readonly #listeners = new Set<(chunk: Buffer) => void>();
  /** Follows key blocks through the bytes that leave the window. */
  readonly #dropped = new KeyBlockTracker();
  #chunks: Buffer[] = [];
  #bytes = 0;
  #totalBytes = 0;
  #lastDroppedByte = 0x0a;

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
      this.#drop(dropped);
    }
    if (this.#bytes > this.#maxBytes) {
      const only = this.#chunks[0] as Buffer;
      this.#drop(only.subarray(0, only.length - this.#maxBytes));
      this.#chunks = [only.subarray(only.length - this.#maxBytes)];
      this.#bytes = this.#maxBytes;
    }
    for (const listener of this.#listeners) listener(chunk);
    return true;
  }

  once(): unknown {
    return this;
  }

  get totalBytes(): number {
    return this.#totalBytes;
  }

  /** Listeners subscribed now. */
  get subscriberCount(): number {
    return this.#listeners.size;
  }

  /**
   * The window now and every chunk written from now on, with nothing lost or repeated between them:
   * both happen in this call, before any other write can.
   */
  subscribe(listener: (chunk: Buffer) => void): LiveTailSubscription {
    this.#listeners.add(listener);
    return {
      window: Buffer.concat(this.#chunks),
      windowStart: this.#windowStart(),
      unsubscribe: () => {
        this.#listeners.delete(listener);
      },
    };
  }

  text(): string {
    const bytes = Buffer.concat(this.#chunks);
    const start = cleanStart(bytes, this.#windowStart());
    return start === -1 ? '' : bytes.subarray(start).toString('utf8');
  }

  #windowStart(): WindowStart {
    return {
      droppedBytes: this.#totalBytes - this.#bytes,
      midLine: this.#lastDroppedByte !== 0x0a,
      keyBlock: this.#dropped.state(),
    };
  }

  #drop(bytes: Buffer): void {
    if (bytes.length === 0) return;
    this.#dropped.feed(bytes.toString('latin1'));
    this.#lastDroppedByte = bytes[bytes.length - 1] as number;
  }
}

/**
 * The first offset of `window` from which it can be shown on its own: past the line cut by the window
 * edge, and past the END of a key block open at the window's start (or opened in that cut line). -1
 * when there is no such offset yet.
 */
function cleanStart(window: Buffer, start: WindowStart): number {
  if (!start.midLine && !start.keyBlock.open) return 0;
  const tracker = new KeyBlockTracker(start.keyBlock);
  let offset = 0;
  if (start.midLine) {
    const newline = window.indexOf(0x0a);
    if (newline === -1) return -1;
    offset = newline + 1;
    tracker.feed(window.toString('latin1', 0, offset));
  }
  if (!tracker.open) return offset;
  const closed = tracker.feed(window.toString('latin1', offset), true);
  return closed === -1 ? -1 : offset + closed;
}

// Security limitations:
// - A configured secret value that spans lines and whose first lines have left the window shows its
//   remaining lines: the redactor sees only the part still in the window.
