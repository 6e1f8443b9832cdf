/**
 * The export reader's side of the sandbox's tar stream: chunks pushed by the command's output are
 * parsed at once, and the entries they complete are handled one at a time, in order. The sandbox is
 * asked to wait (its output paused) while more than a few MiB of parsed entries wait to be handled,
 * and handled entries are let go at once: the host holds a bounded part of the tree, never all of it.
 */
import { EventEmitter } from 'node:events';
import type { TarEntry, TarReader } from '../../local-tree/index.ts';
import type { OutputSink } from '../../sandbox/index.ts';

/**
 * Parsed entries held before the sandbox's output is paused, counted as the bytes of the stream they
 * took (headers and padding too): an entry's content may be a view of the chunk it came in, and a
 * tree of empty directories or tiny files must be bounded as well as one of large files.
 */
export const MAX_QUEUED_BYTES = 4 * 1024 * 1024;

export interface EntryQueueHooks {
  readonly handle: (entry: TarEntry) => Promise<void>;
  /** The first error (a bad stream, a refused entry); nothing more is handled after it. */
  readonly fail: (error: Error) => void;
  /** The stream ended and every entry was handled. */
  readonly finished: () => void;
}

export interface EntryQueue {
  readonly sink: OutputSink;
  end(): void;
  /** After a failure: lets a writer waiting for room go on (to be ignored). */
  release(): void;
}

export function createEntryQueue(parser: TarReader, hooks: EntryQueueHooks): EntryQueue {
  const drains = new EventEmitter();
  let queue: TarEntry[] = [];
  let head = 0;
  let queuedBytes = 0;
  let handling = false;
  let ended = false;
  let failed = false;
  const fail = (error: Error): void => {
    if (failed) return;
    failed = true;
    queue = [];
    head = 0;
    queuedBytes = 0;
    hooks.fail(error);
  };

  async function handleQueued(): Promise<void> {
    handling = true;
    try {
      while (head < queue.length && !failed) {
        const entry = queue[head] as TarEntry;
        // Let go of each entry as soon as it is taken: it must not outlive its handling.
        queue[head] = undefined as unknown as TarEntry;
        head += 1;
        if (head > 1024 && head * 2 > queue.length) {
          queue = queue.slice(head);
          head = 0;
        }
        queuedBytes -= entry.streamBytes;
        await hooks.handle(entry);
      }
    } catch (error) {
      fail(error as Error);
    }
    handling = false;
    if (failed) return;
    queue = [];
    head = 0;
    drains.emit('drain');
    if (ended) hooks.finished();
  }

  return {
    sink: {
      write: (chunk) => {
        if (failed) return true;
        try {
          const parsed = parser.push(chunk);
          for (const entry of parsed) queuedBytes += entry.streamBytes;
          queue.push(...parsed);
        } catch (error) {
          fail(error as Error);
          return true;
        }
        if (!handling && head < queue.length) void handleQueued();
        return !handling || queuedBytes < MAX_QUEUED_BYTES;
      },
      once: (event, listener) => drains.once(event, listener),
    },
    end: () => {
      if (failed) return;
      try {
        parser.end();
      } catch (error) {
        fail(error as Error);
        return;
      }
      ended = true;
      if (!handling) hooks.finished();
    },
    release: () => drains.emit('drain'),
  };
}
