/**
 * A finished command's output as the store and the model get it: redacted first (before anything
 * stores or shows it), then cut to the model's budget around a marker that says where the rest can be
 * paged. Running background commands are shown the same way from their live windows.
 */
import { randomBytes } from 'node:crypto';
import type { ExecResult } from '../../sandbox/index.ts';
import type { LiveTail } from './live-tail.ts';
import type { Redactor } from './redact.ts';
import { shapeForModel } from './shape.ts';

export interface ShapedOutput {
  /** How the command ended, as the model is told. */
  readonly status: 'completed' | 'timed_out' | 'killed';
  /** The whole (bounded) streams, redacted: what the store keeps for paging. */
  readonly stdoutFull: string;
  readonly stderrFull: string;
  /** What the model sees. */
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  /** Where the full output is paged from; null when there was none. */
  readonly outputId: string | null;
}

export interface ShapeExecutionOptions {
  readonly redactor: Redactor;
  readonly maxChars: number;
  /** The command was stopped on request (its kill switch, the caller, the session ending). */
  readonly killRequested: boolean;
}

export function shapeExecution(exec: ExecResult, options: ShapeExecutionOptions): ShapedOutput {
  const { redactor, maxChars } = options;
  // What the store keeps is what was read here, before the spool is discarded (discarding shrinks a
  // stream's stored count to its in-memory head, which is not what the store holds).
  const kept = {
    stdout: { text: storedText(exec.stdoutStream), bytes: exec.stdoutStream.storedBytes },
    stderr: { text: storedText(exec.stderrStream), bytes: exec.stderrStream.storedBytes },
  };
  exec.stdoutStream.discard();
  exec.stderrStream.discard();
  const stdoutFull = redactor.redact(kept.stdout.text).text;
  const stderrFull = redactor.redact(kept.stderr.text).text;
  const outputId = stdoutFull === '' && stderrFull === '' ? null : `out_${randomBytes(12).toString('hex')}`;
  const shape = (text: string, stream: 'stdout' | 'stderr', captured: ExecResult['stdoutStream']) =>
    shapeForModel(text, {
      maxChars,
      outputId,
      stream,
      storedChars: text.length,
      totalBytes: captured.totalBytes,
      storedBytes: kept[stream].bytes,
    });
  const stdout = shape(stdoutFull, 'stdout', exec.stdoutStream);
  const stderr = shape(stderrFull, 'stderr', exec.stderrStream);
  const status = exec.timedOut
    ? 'timed_out'
    : exec.killed || (options.killRequested && exec.exitCode === null)
      ? 'killed'
      : 'completed';
  return {
    status,
    stdoutFull,
    stderrFull,
    stdout: stdout.text,
    stderr: stderr.text,
    truncated: stdout.truncated || stderr.truncated,
    outputId,
  };
}

/** A running command's live windows, redacted and cut like a finished command's output. */
export function shapeLive(
  live: { readonly stdout: LiveTail; readonly stderr: LiveTail },
  redactor: Redactor,
  maxChars: number,
): { readonly stdout: string; readonly stderr: string } {
  const shape = (tail: LiveTail, stream: 'stdout' | 'stderr') =>
    shapeForModel(redactor.redact(tail.text()).text, {
      maxChars,
      outputId: null,
      stream,
      storedChars: 0,
      totalBytes: tail.totalBytes,
    }).text;
  return { stdout: shape(live.stdout, 'stdout'), stderr: shape(live.stderr, 'stderr') };
}

/** Everything the sandbox kept of a stream (memory head and spool), decoded. */
function storedText(stream: ExecResult['stdoutStream']): string {
  if (stream.storedBytes <= Buffer.byteLength(stream.text)) return stream.text;
  return stream.read(0, stream.storedBytes).toString('utf8');
}
