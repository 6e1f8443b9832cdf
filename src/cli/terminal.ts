/**
 * Terminal plumbing shared by the long-running and table-printing commands (approvals, audit): what the
 * streams are, colour, backpressure, Ctrl-C, and reading answers line by line.
 */
import { createInterface } from 'node:readline';
import { constants } from 'node:os';
import type { EnvironmentVariables } from '../config/index.ts';
import type { CliContext, InterruptReason, OutputStream } from './context.ts';

/** Exit statuses every interruptible command shares (the same as airlock exec). */
export const interruptExitCodes = {
  signal: 130,
  'output-closed': 128 + constants.signals.SIGPIPE,
} as const satisfies Record<InterruptReason, number>;

/** How often a watching command re-reads the store: the router's own default poll interval. */
export const POLL_INTERVAL_MS = 250;

interface TtyLike {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Whether a stream is a terminal, and how wide; a test's plain writer is neither. */
export function terminalOf(stream: unknown): { isTTY: boolean; columns: number | undefined } {
  const tty = (typeof stream === 'object' && stream !== null ? stream : {}) as TtyLike;
  const columns = typeof tty.columns === 'number' && tty.columns > 0 ? tty.columns : undefined;
  return { isTTY: tty.isTTY === true, columns };
}

export interface Paint {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
}

/** Colour only on a terminal, and never with NO_COLOR set (https://no-color.org) or TERM=dumb. */
export function paintFor(stream: unknown, env: EnvironmentVariables): Paint {
  const on =
    !env['NO_COLOR'] && (Boolean(env['FORCE_COLOR']) || (terminalOf(stream).isTTY && env['TERM'] !== 'dumb'));
  const sgr =
    (code: string) =>
    (text: string): string =>
      on ? `\x1b[${code}m${text}\x1b[0m` : text;
  return { bold: sgr('1'), dim: sgr('2'), red: sgr('31'), green: sgr('32'), yellow: sgr('33') };
}

export interface Interrupts {
  /** Aborted on Ctrl-C / SIGTERM or when the reader of stdout went away. */
  readonly signal: AbortSignal;
  reason(): InterruptReason | undefined;
  dispose(): void;
}

export function listenForInterrupts(context: CliContext): Interrupts {
  const controller = new AbortController();
  let reason: InterruptReason | undefined;
  const remove = context.onInterrupt((why) => {
    reason ??= why;
    controller.abort();
  });
  return { signal: controller.signal, reason: () => reason, dispose: remove };
}

/**
 * Writes text, waiting for 'drain' when the stream is full, so `airlock audit export | slow-consumer`
 * holds one page in memory rather than the whole log. Resolves false once output should stop.
 */
export function lineWriter(stream: OutputStream, signal: AbortSignal): (text: string) => Promise<boolean> {
  return async (text) => {
    if (signal.aborted) return false;
    if (stream.write(text) !== false || stream.once === undefined) return !signal.aborted;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      stream.once?.('drain', done);
      signal.addEventListener('abort', done, { once: true });
    });
    return !signal.aborted;
  };
}

/** Waits, or less when the signal aborts; resolves whether the full time passed. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const finish = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve(!signal.aborted);
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish, { once: true });
  });
}

export interface LineReader {
  /** The next line, or null at the end of input or when the signal aborts. */
  next(signal: AbortSignal): Promise<string | null>;
  /** Drops lines typed before now. */
  discardBuffered(): void;
  /** Input has ended and every line was taken. */
  exhausted(): boolean;
  close(): void;
}

/**
 * Lines from stdin, queued until asked for. `terminal: false` keeps a TTY in cooked mode, so Ctrl-C is
 * a real SIGINT handled like everywhere else rather than a keystroke readline swallows.
 */
export function readLines(input: NodeJS.ReadableStream): LineReader {
  const lines = createInterface({ input, terminal: false, crlfDelay: Infinity });
  const buffered: string[] = [];
  const waiters = new Set<(line: string | null) => void>();
  let ended = false;
  const take = (): ((line: string | null) => void) | undefined => {
    const [first] = waiters;
    if (first !== undefined) waiters.delete(first);
    return first;
  };
  lines.on('line', (line) => {
    const waiter = take();
    if (waiter) waiter(line);
    else buffered.push(line);
  });
  lines.on('close', () => {
    ended = true;
    for (let waiter = take(); waiter; waiter = take()) waiter(null);
  });
  return {
    next(signal) {
      const line = buffered.shift();
      if (line !== undefined) return Promise.resolve(line);
      if (ended || signal.aborted) return Promise.resolve(null);
      return new Promise((resolve) => {
        const deliver = (value: string | null): void => {
          signal.removeEventListener('abort', cancel);
          resolve(value);
        };
        const cancel = (): void => {
          waiters.delete(deliver);
          resolve(null);
        };
        waiters.add(deliver);
        signal.addEventListener('abort', cancel, { once: true });
      });
    },
    discardBuffered() {
      buffered.length = 0;
    },
    exhausted: () => ended && buffered.length === 0,
    close: () => lines.close(),
  };
}

/** Cuts at a code-point boundary with "…", so no half of a surrogate pair is printed. */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  if (maxChars <= 1) return '…';
  let end = maxChars - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * Text on one line. Stored subjects already have control characters escaped, but keep newlines and
 * tabs; a command with a newline could otherwise draw a fake line (a harmless-looking "parsed" entry, a
 * prompt) under ours, so such text is shown JSON-quoted, which marks it as escaped.
 */
export function oneLine(text: string): string {
  return /[\n\t]/.test(text) ? JSON.stringify(text) : text;
}

/** A short duration for people: 42s, 4m57s, 1h03m, 2d04h. */
export function shortDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}
