/**
 * The execute stage for a command: one call into the session's sandbox. A failure of the sandbox
 * (an AirlockError: the sandbox is gone, a limit is exhausted) is an outcome the pipeline records;
 * anything else is a bug and propagates.
 */
import { isAirlockError } from '../../errors/index.ts';
import type { AirlockError } from '../../errors/index.ts';
import type { ExecOptions, ExecResult, OutputSink } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';

export interface ExecuteOptions {
  readonly timeoutMs: number;
  /** Aborting kills the command's whole process tree. */
  readonly signal: AbortSignal;
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string>> | undefined;
  readonly stdin?: Uint8Array | undefined;
  readonly interactive?: ExecOptions['interactive'];
  /** Where output goes as it is produced (a live window, a terminal), with backpressure. */
  readonly stdoutTo?: OutputSink | undefined;
  readonly stderrTo?: OutputSink | undefined;
}

export type ExecuteOutcome =
  | { readonly ok: true; readonly exec: ExecResult }
  | { readonly ok: false; readonly error: AirlockError };

export async function executeCommand(
  session: LiveSession,
  command: string,
  options: ExecuteOptions,
): Promise<ExecuteOutcome> {
  try {
    const exec = await session.sandbox.exec(command, {
      timeoutMs: options.timeoutMs,
      signal: options.signal,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined || Object.keys(options.env).length === 0 ? {} : { env: options.env }),
      ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
      ...(options.interactive === undefined ? {} : { interactive: options.interactive }),
      ...(options.stdoutTo === undefined ? {} : { stdoutTo: options.stdoutTo }),
      ...(options.stderrTo === undefined ? {} : { stderrTo: options.stderrTo }),
    });
    return { ok: true, exec };
  } catch (error) {
    if (!isAirlockError(error)) throw error;
    return { ok: false, error };
  }
}
