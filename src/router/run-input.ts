/**
 * What a caller may ask the router to run: checked before anything is parsed, judged or recorded.
 */
import { AirlockError } from '../errors/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import { MAX_COMMAND_LENGTH } from '../shell/index.ts';
import type { RunOptions } from './types.ts';

/**
 * Longest command accepted, in characters, on every surface (HTTP, MCP, SDK, CLI, library). It is the
 * shell parser's own limit: a longer command is never parsed, so the policy could only send it to a
 * person as an unreadable block. Refusing it here, with a pointer to files, serves the model better.
 */
export const MAX_COMMAND_CHARS = MAX_COMMAND_LENGTH;

/** The command's timeout; throws INVALID_ARGUMENT for an empty or overlong command or a bad timeout. */
export function checkRunInput(session: LiveSession, command: unknown, options: RunOptions): number {
  if (typeof command !== 'string' || command.trim() === '') {
    throw new AirlockError('INVALID_ARGUMENT', 'command must be non-empty text, like "ls -la"', {
      field: 'command',
    });
  }
  if (command.length > MAX_COMMAND_CHARS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `command is ${command.length} characters; the limit is ${MAX_COMMAND_CHARS} (write long scripts to a file with write_file and run that)`,
      { field: 'command', limit: MAX_COMMAND_CHARS },
    );
  }
  const timeoutMs = options.timeoutMs ?? session.settings.sandbox.timeoutMs;
  const { maxTimeoutMs } = session.settings;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > maxTimeoutMs) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `timeoutMs must be a whole number of milliseconds from 1 to ${maxTimeoutMs}, got ${String(timeoutMs)}`,
      { field: 'timeoutMs', max: maxTimeoutMs },
    );
  }
  if (options.rawOutputTo !== undefined && options.background === true) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      'rawOutputTo is for foreground commands: a background command is followed with commands.watch',
      { field: 'rawOutputTo' },
    );
  }
  return timeoutMs;
}

/**
 * How long a call waits for a person's decision before it returns `pending_approval`: the caller's
 * `approvalWaitMs`, `waitForApproval` (`false`: none; `true`: until decided), else the configured
 * default. `Infinity` when the wait reaches the approval timeout: the request is decided or expired by
 * then, so the call waits for that answer. Throws INVALID_ARGUMENT for a bad value.
 */
export function approvalWaitOf(
  options: Pick<RunOptions, 'approvalWaitMs' | 'waitForApproval'>,
  defaults: { readonly approvalWaitMs: number; readonly approvalTimeoutMs: number },
): number {
  const { approvalWaitMs } = options;
  if (approvalWaitMs !== undefined) {
    if (!Number.isSafeInteger(approvalWaitMs) || approvalWaitMs < 0) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `approvalWaitMs must be a whole number of milliseconds, 0 or more, got ${String(approvalWaitMs)}`,
        { field: 'approvalWaitMs' },
      );
    }
    return untilDecided(approvalWaitMs, defaults.approvalTimeoutMs);
  }
  if (options.waitForApproval === false) return 0;
  if (options.waitForApproval === true) return Number.POSITIVE_INFINITY;
  return untilDecided(defaults.approvalWaitMs, defaults.approvalTimeoutMs);
}

function untilDecided(waitMs: number, approvalTimeoutMs: number): number {
  return waitMs >= approvalTimeoutMs ? Number.POSITIVE_INFINITY : waitMs;
}
