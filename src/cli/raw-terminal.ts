/**
 * The local terminal of `airlock shell`: raw mode in (every key, Ctrl-C included, goes to the remote
 * program as a byte), its size and size changes (SIGWINCH, which Node reports as the output's
 * `resize`), and one restore that puts the terminal back however the command ends.
 */
import { spawnSync } from 'node:child_process';
import type { CliContext } from './context.ts';

export interface TerminalSize {
  readonly cols: number;
  readonly rows: number;
}

interface TtyInput {
  readonly isTTY?: boolean;
  readonly isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

interface TtyOutput {
  readonly columns?: number;
  readonly rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** Sizes a terminal reports as 0 (a pseudo-terminal nobody sized) fall back to the classic 80×24. */
const DEFAULT_SIZE: TerminalSize = { cols: 80, rows: 24 };

/** The terminal's size now, within what the sandbox accepts (1 to 1000 each way). */
export function terminalSize(context: CliContext): TerminalSize {
  const output = context.stdout as unknown as TtyOutput;
  const fit = (value: number | undefined, fallback: number): number =>
    value !== undefined && value > 0 ? Math.min(value, 1000) : fallback;
  return { cols: fit(output.columns, DEFAULT_SIZE.cols), rows: fit(output.rows, DEFAULT_SIZE.rows) };
}

export interface RawTerminal {
  size(): TerminalSize;
  /** Puts the terminal back as it was and stops reading it; safe to call more than once. */
  restore(): void;
}

/** Whether standard input is a terminal that can be put in raw mode. */
export function isInteractiveInput(context: CliContext): boolean {
  const input = context.stdin as unknown as TtyInput;
  return input.isTTY === true && typeof input.setRawMode === 'function';
}

/**
 * Raw mode on, keys to `onInput`, size changes to `onResize`. The caller must `restore()` on every
 * way out (a `finally`): a terminal left raw shows no echo and ignores Ctrl-C.
 */
export function enterRawMode(
  context: CliContext,
  handlers: { onInput(chunk: Buffer): void; onResize(size: TerminalSize): void },
): RawTerminal {
  const input = context.stdin as unknown as TtyInput;
  const output = context.stdout as unknown as TtyOutput;
  const wasRaw = input.isRaw === true;
  const size = (): TerminalSize => terminalSize(context);
  const onData = (chunk: Buffer): void => handlers.onInput(chunk);
  const onResize = (): void => handlers.onResize(size());
  input.setRawMode?.(true);
  // Node's raw mode keeps output processing on, so every "\n" from the remote terminal became "\r\n"
  // here: a full-screen program that moves the cursor down with a bare line feed would draw in the
  // wrong column. stty turns it off; leaving raw mode puts back the settings saved on entering it.
  if (wasRaw === false)
    spawnSync('stty', ['-opost'], { stdio: ['inherit', 'ignore', 'ignore'], timeout: 2000 });
  input.on('data', onData);
  input.resume();
  output.on?.('resize', onResize);
  let restored = false;
  return {
    size,
    restore: () => {
      if (restored) return;
      restored = true;
      output.off?.('resize', onResize);
      input.off('data', onData);
      input.setRawMode?.(wasRaw);
      // Reading stdin keeps the process alive; once restored, nothing more is read.
      input.pause();
    },
  };
}
