/**
 * Live events of one command for one watcher: its output as it is produced (redacted, see
 * live-stream.ts), then its final result. Each watcher has its own bounded queue, so a reader that falls
 * behind loses output (and is told how much) instead of growing memory or slowing the command.
 */
import { AirlockError } from '../../errors/index.ts';
import { LiveLineStream } from './live-stream.ts';
import type { LiveTail } from './live-tail.ts';
import type { Redactor } from './redact.ts';
import type { RunResult } from '../types.ts';

export type CommandEvent =
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr'; readonly text: string }
  | { readonly type: 'status'; readonly result: RunResult };

/** Output text queued for one watcher and not yet read; past it, new output is dropped and counted. */
export const MAX_QUEUED_OUTPUT_BYTES = 1024 * 1024;
/**
 * Watchers of one command at once. Each redacts the command's output again and may queue
 * `MAX_QUEUED_OUTPUT_BYTES` of it unread, so watchers are what a client could multiply to make the
 * control plane spend memory and CPU; a person and a few tools watching fit well within this.
 */
export const MAX_WATCHERS_PER_COMMAND = 8;

type Stream = 'stdout' | 'stderr';

/**
 * How long output must pause before the held part of a terminal's unfinished line is released: the
 * part from where a secret could be arriving (`LiveLineStream.releaseUnambiguous`); the rest, such as
 * a keystroke's echo, goes out at once. A program writes a line in one call, which arrives in one
 * chunk, or in chunks read back to back well within this even on a busy host; a person does not see
 * 5 ms (an echo over SSH takes tens).
 */
export const TERMINAL_SETTLE_MS = 5;

export interface WatchOptions {
  /**
   * For a terminal: also release unfinished lines, at once where no secret could be arriving and the
   * rest once output pauses (see `LiveLineStream.releaseUnambiguous`).
   */
  readonly terminal?: boolean;
}

export interface WatchSource {
  /** The command's live output; null when it has none (not a background command). */
  readonly live: { readonly stdout: LiveTail; readonly stderr: LiveTail } | null;
  readonly redactor: Redactor;
  /** Settles once the command has ended and all its output has been written to `live`. */
  readonly done: Promise<RunResult>;
}

/** Output and status events, bounded by `MAX_QUEUED_OUTPUT_BYTES` of unread output. */
class EventQueue {
  readonly #events: CommandEvent[] = [];
  /** Whether the last queued event is plain output that more text of its stream may join. */
  #joinable = false;
  #queuedBytes = 0;
  readonly #dropped: Record<Stream, number> = { stdout: 0, stderr: 0 };
  #wake: (() => void) | null = null;
  #failure: { readonly error: unknown } | null = null;

  output(stream: Stream, text: string, marker: boolean): void {
    const bytes = Buffer.byteLength(text);
    if (this.#queuedBytes + bytes > MAX_QUEUED_OUTPUT_BYTES) {
      this.#dropped[stream] += bytes;
      return;
    }
    this.#flushDropped();
    this.#push(stream, text, marker, bytes);
  }

  status(result: RunResult): void {
    this.#flushDropped();
    this.#events.push({ type: 'status', result });
    this.#joinable = false;
    this.#notify();
  }

  fail(error: unknown): void {
    this.#failure ??= { error };
    this.#notify();
  }

  shift(): CommandEvent | undefined {
    if (this.#failure !== null) throw this.#failure.error;
    const event = this.#events.shift();
    if (event?.type === 'output') this.#queuedBytes -= Buffer.byteLength(event.text);
    if (this.#events.length === 0) this.#joinable = false;
    return event;
  }

  /** Resolves when there is something to read or `signal` aborts. */
  async next(signal: AbortSignal | undefined): Promise<void> {
    if (this.#events.length > 0 || this.#failure !== null || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const onAbort = (): void => wake();
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#wake = null;
        resolve();
      };
      this.#wake = wake;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #push(stream: Stream, text: string, marker: boolean, bytes: number): void {
    const last = this.#events.at(-1);
    if (!marker && this.#joinable && last?.type === 'output' && last.stream === stream) {
      this.#events[this.#events.length - 1] = { ...last, text: last.text + text };
    } else {
      this.#events.push({ type: 'output', stream, text });
    }
    this.#joinable = !marker;
    this.#queuedBytes += bytes;
    this.#notify();
  }

  #flushDropped(): void {
    for (const stream of ['stdout', 'stderr'] as const) {
      const bytes = this.#dropped[stream];
      if (bytes === 0) continue;
      this.#dropped[stream] = 0;
      // The drop marker itself always fits: one per stretch of dropped output, which only ends when
      // something else fits again, so they cannot pile up while nobody reads.
      const text = `[… ${bytes} bytes dropped: the reader fell behind; page the full output with its outputId once the command ends]\n`;
      this.#push(stream, text, true, Buffer.byteLength(text));
    }
  }

  #notify(): void {
    this.#wake?.();
  }
}

/**
 * The events of a command from now on: what its live window holds, every chunk after it, then its
 * result. Subscribing happens at the first `next()`; aborting `signal` (or leaving the loop) ends it.
 * With `MAX_WATCHERS_PER_COMMAND` watchers subscribed already, the first `next()` rejects with
 * LIMIT_REACHED.
 */
export async function* watchOutput(
  source: WatchSource,
  signal: AbortSignal | undefined,
  options: WatchOptions = {},
): AsyncGenerator<CommandEvent, void, undefined> {
  if (signal?.aborted) return;
  // Every watcher subscribes to stdout (and stderr) for as long as it lives, in this same synchronous
  // step, so the count cannot be overshot by watchers starting together.
  const watchers = source.live?.stdout.subscriberCount ?? 0;
  if (watchers >= MAX_WATCHERS_PER_COMMAND) {
    throw new AirlockError(
      'LIMIT_REACHED',
      `this command has ${watchers} watchers already, the most it may have; stop one (close its stream) and try again`,
      { limit: 'watchers', maxWatchers: MAX_WATCHERS_PER_COMMAND },
    );
  }
  const queue = new EventQueue();
  const streams: Array<{ lines: LiveLineStream; unsubscribe: () => void }> = [];
  const settleTimers = new Map<Stream, ReturnType<typeof setTimeout>>();
  let ended = false;
  const stop = (): void => {
    ended = true;
    for (const { unsubscribe } of streams) unsubscribe();
    for (const timer of settleTimers.values()) clearTimeout(timer);
    settleTimers.clear();
  };
  /** After a write: what cannot hold a secret in progress goes out now, the rest once output pauses. */
  const releaseForTerminal = (name: Stream, lines: LiveLineStream): void => {
    if (options.terminal !== true || ended) return;
    clearTimeout(settleTimers.get(name));
    settleTimers.delete(name);
    if (!lines.releaseUnambiguous()) return;
    const timer = setTimeout(() => {
      settleTimers.delete(name);
      if (ended) return;
      try {
        lines.releasePartial();
      } catch (error) {
        stop();
        queue.fail(error);
      }
    }, TERMINAL_SETTLE_MS);
    timer.unref();
    settleTimers.set(name, timer);
  };
  try {
    for (const name of ['stdout', 'stderr'] as const) {
      const tail = source.live?.[name];
      if (tail === undefined) continue;
      let lines: LiveLineStream | null = null;
      // The window and the listener are taken in one call, so no chunk is missed or seen twice.
      const subscription = tail.subscribe((chunk) => {
        try {
          if (lines === null) return;
          lines.write(chunk);
          releaseForTerminal(name, lines);
        } catch (error) {
          stop();
          queue.fail(error);
        }
      });
      lines = new LiveLineStream({
        redactor: source.redactor,
        emit: (text, marker) => queue.output(name, text, marker),
        start: subscription.windowStart,
      });
      streams.push({ lines, unsubscribe: subscription.unsubscribe });
      lines.write(subscription.window);
      releaseForTerminal(name, lines);
    }
    void source.done.then(
      (result) => {
        if (ended) return;
        stop();
        try {
          for (const { lines } of streams) lines.end();
          queue.status(result);
        } catch (error) {
          queue.fail(error);
        }
      },
      (error: unknown) => queue.fail(error),
    );
    for (;;) {
      if (signal?.aborted) return;
      const event = queue.shift();
      if (event === undefined) {
        await queue.next(signal);
        continue;
      }
      yield event;
      if (event.type === 'status') return;
    }
  } finally {
    stop();
  }
}
