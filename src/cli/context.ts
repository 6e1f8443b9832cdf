import { processEnvironment } from '../config/index.ts';
import type { EnvironmentVariables } from '../config/index.ts';

export type InterruptReason = 'signal' | 'output-closed';

/** Where command output goes; `write` returning false pauses the command until 'drain'. */
export interface OutputStream {
  write(chunk: string | Uint8Array): boolean | void;
  once?(event: 'drain', listener: () => void): unknown;
}

export interface DiagnosticStream extends OutputStream {
  /** One line, prefixed and (on a colour terminal) coloured. */
  warn(message: string): void;
  error(message: string): void;
}

/** Everything a command touches outside itself, so tests can run the CLI in-process. */
export interface CliContext {
  cwd: string;
  env: EnvironmentVariables;
  stdin: NodeJS.ReadableStream;
  stdout: OutputStream;
  stderr: DiagnosticStream;
  setExitCode(code: number): void;
  /**
   * Runs `handler` on Ctrl-C / SIGTERM, or when the reader of stdout went away (`airlock exec -- yes |
   * head`), until the returned function is called.
   */
  onInterrupt(handler: (reason: InterruptReason) => void): () => void;
  /**
   * Ends the process now with `code`, skipping any clean-up still running: for a user who pressed
   * Ctrl-C a second time while a command was already stopping.
   */
  exitNow(code: number): void;
}

function colourEnabled(stream: NodeJS.WriteStream, env: EnvironmentVariables): boolean {
  // https://no-color.org: any non-empty NO_COLOR turns colour off; FORCE_COLOR turns it on.
  if (env['NO_COLOR']) return false;
  if (env['FORCE_COLOR']) return true;
  return stream.isTTY === true && env['TERM'] !== 'dumb';
}

export function processContext(setExitCode: (code: number) => void): CliContext {
  // `airlock policy check ... | head -1`: the reader left; the rest of the output has nowhere to go.
  // That is not a crash (an unhandled stream error would print a stack trace).
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  const env = processEnvironment();
  const colour = colourEnabled(process.stderr, env);
  const paint = (code: string, text: string): string => (colour ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    cwd: process.cwd(),
    env,
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: {
      write: (chunk) => process.stderr.write(chunk),
      once: (event, listener) => process.stderr.once(event, listener),
      warn: (message) => process.stderr.write(`${paint('33', 'airlock: warning:')} ${message}\n`),
      error: (message) => process.stderr.write(`${paint('31', 'airlock:')} ${message}\n`),
    },
    setExitCode,
    exitNow: (code) => process.exit(code),
    onInterrupt(handler) {
      const onSignal = (): void => handler('signal');
      // EPIPE on stdout means nobody reads any more; an unhandled stream error would crash with a
      // stack trace instead of stopping the command.
      const onOutputError = (error: NodeJS.ErrnoException): void => {
        if (error.code === 'EPIPE') handler('output-closed');
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      process.stdout.on('error', onOutputError);
      return () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.stdout.off('error', onOutputError);
      };
    },
  };
}
