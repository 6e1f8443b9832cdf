import { Readable } from 'node:stream';
import type { CliContext, InterruptReason } from '../../src/cli/context.ts';
import { run } from '../../src/cli/main.ts';

export interface CliRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  cwd: string;
  env: Record<string, string>;
  stdin?: string;
  /** Like `airlock exec -- yes | head -1`: the reader goes away after the first chunk, and a
   * broken pipe takes no more writes and never drains. */
  closeOutputAfterFirstWrite?: boolean;
}

/** Runs `airlock …` in-process, as a user would type it, capturing what it prints and its status. */
export async function runCli(args: string[], options: CliRunOptions): Promise<CliRun> {
  let interrupt: ((reason: InterruptReason) => void) | undefined;
  let stdout = '';
  let stderr = '';
  let exitCode = 0;
  const context: CliContext = {
    cwd: options.cwd,
    env: { NO_COLOR: '1', ...options.env },
    stdin: Readable.from([options.stdin ?? '']),
    stdout: {
      write: (chunk) => {
        stdout += chunk.toString();
        if (!options.closeOutputAfterFirstWrite) return true;
        setImmediate(() => interrupt?.('output-closed'));
        return false;
      },
      once: () => undefined,
    },
    stderr: {
      write: (chunk) => void (stderr += chunk.toString()),
      warn: (message) => void (stderr += `airlock: warning: ${message}\n`),
      error: (message) => void (stderr += `airlock: ${message}\n`),
    },
    setExitCode: (code) => {
      exitCode = code;
    },
    onInterrupt: (handler) => {
      interrupt = handler;
      return () => (interrupt = undefined);
    },
    exitNow: (code) => {
      throw new Error(`exitNow(${code}) in an in-process CLI run`);
    },
  };
  const code = await run(['node', 'airlock', ...args], context, () => exitCode);
  return { exitCode: code, stdout, stderr };
}
