/**
 * After a command ran: its output redacted (before anything stores or shows it), stored for paging,
 * shaped for the model, and the result recorded with the output in one transaction.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AirlockMetrics } from '../metrics/index.ts';
import type { ExecResult } from '../sandbox/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import type { CommandRecord, Store } from '../store/index.ts';
import type { Redactor } from './redact.ts';
import { shapeForModel } from './shape.ts';
import type { RunResult, RunStatus } from './types.ts';

/**
 * Stored output a session keeps for paging, stdout and stderr of all its commands together; older
 * outputs are dropped past it, so a session printing a lot costs bounded disk.
 */
export const MAX_SESSION_OUTPUT_CHARS = 64 * 1024 * 1024;

export interface ExecutionRecordDeps {
  readonly store: Store;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  readonly maxChars: number;
  readonly now: () => number;
}

export async function recordExecution(
  deps: ExecutionRecordDeps,
  session: LiveSession,
  running: CommandRecord,
  exec: ExecResult,
  context: {
    base: Omit<RunResult, 'status' | 'forModel'>;
    started: number;
    timeoutMs: number;
    killed: boolean;
    redactor: Redactor;
  },
): Promise<Omit<RunResult, 'forModel'>> {
  const { redactor } = context;
  const stdoutFull = redactor.redact(storedText(exec.stdoutStream)).text;
  const stderrFull = redactor.redact(storedText(exec.stderrStream)).text;
  exec.stdoutStream.discard();
  exec.stderrStream.discard();
  const outputId = stdoutFull === '' && stderrFull === '' ? null : `out_${randomBytes(12).toString('hex')}`;
  const shapedOut = shapeForModel(stdoutFull, {
    maxChars: deps.maxChars,
    outputId,
    stream: 'stdout',
    storedChars: stdoutFull.length,
    totalBytes: exec.stdoutStream.totalBytes,
    storedBytes: exec.stdoutStream.storedBytes,
  });
  const shapedErr = shapeForModel(stderrFull, {
    maxChars: deps.maxChars,
    outputId,
    stream: 'stderr',
    storedChars: stderrFull.length,
    totalBytes: exec.stderrStream.totalBytes,
    storedBytes: exec.stderrStream.storedBytes,
  });
  const status: RunStatus = exec.timedOut
    ? 'timed_out'
    : exec.killed || (context.killed && exec.exitCode === null)
      ? 'killed'
      : 'completed';
  const finishedAt = iso(deps.now());
  const state = status === 'completed' ? 'completed' : status === 'timed_out' ? 'timed_out' : 'killed';
  const auditWriteStarted = performance.now();
  await deps.store.commit({
    commands: [
      {
        ...running,
        state,
        exitCode: exec.exitCode,
        signal: exec.signal,
        outputId,
        finishedAt,
        durationMs: Math.round(exec.durationMs),
      },
    ],
    outputs:
      outputId === null
        ? []
        : [
            {
              id: outputId,
              sessionId: session.id,
              commandId: running.id,
              stdout: stdoutFull,
              stderr: stderrFull,
              stdoutTotalBytes: exec.stdoutStream.totalBytes,
              stderrTotalBytes: exec.stderrStream.totalBytes,
              createdAt: finishedAt,
            },
          ],
    events: [
      {
        type: 'execution.finished',
        sessionId: session.id,
        commandId: running.id,
        data: {
          status,
          exitCode: exec.exitCode,
          signal: exec.signal,
          oomKilled: exec.oomKilled,
          durationMs: Math.round(exec.durationMs),
        },
      },
      ...(outputId === null
        ? []
        : [
            {
              type: 'output.stored' as const,
              sessionId: session.id,
              commandId: running.id,
              data: {
                outputId,
                stdoutBytes: exec.stdoutStream.totalBytes,
                stderrBytes: exec.stderrStream.totalBytes,
                stdoutStoredChars: stdoutFull.length,
                stderrStoredChars: stderrFull.length,
              },
            },
          ]),
    ],
  });
  deps.metrics.auditWriteDuration(performance.now() - auditWriteStarted);
  if (outputId !== null) await deps.store.trimSessionOutputs(session.id, MAX_SESSION_OUTPUT_CHARS);
  const durationMs = deps.now() - context.started;
  deps.metrics.commandFinished({
    status,
    driver: session.settings.driver,
    durationMs,
    execMs: exec.durationMs,
  });
  deps.logger.info(
    { sessionId: session.id, commandId: running.id, status, exitCode: exec.exitCode, durationMs },
    'command finished',
  );
  return {
    ...context.base,
    status,
    exitCode: exec.exitCode,
    signal: exec.signal,
    oomKilled: exec.oomKilled,
    stdout: shapedOut.text,
    stderr: shapedErr.text,
    truncated: shapedOut.truncated || shapedErr.truncated,
    outputId,
    durationMs,
  };
}

/** Everything the sandbox kept of a stream (memory head and spool), decoded. */
function storedText(stream: ExecResult['stdoutStream']): string {
  if (stream.storedBytes <= Buffer.byteLength(stream.text)) return stream.text;
  return stream.read(0, stream.storedBytes).toString('utf8');
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
