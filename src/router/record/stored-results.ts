/**
 * A command's result rebuilt from the store: for commands this control plane no longer holds in memory,
 * ran by another process, or left under way by one that crashed.
 */
import { AirlockError } from '../../errors/index.ts';
import type { Store } from '../../store/index.ts';
import { shapeForModel, textForModel } from '../shape/index.ts';
import type { RunResult, RunStatus } from '../types.ts';

export async function storedResult(store: Store, id: string, maxChars: number): Promise<RunResult> {
  const record = typeof id === 'string' && /^cmd_[0-9a-f]{24}$/.test(id) ? await store.getCommand(id) : null;
  if (record === null) {
    throw new AirlockError('NOT_FOUND', `no command ${JSON.stringify(String(id)).slice(0, 80)}`, {
      commandId: id,
    });
  }
  const output = record.outputId === null ? null : await store.getOutput(record.outputId);
  const shape = (text: string, stream: 'stdout' | 'stderr', totalBytes: number) =>
    shapeForModel(text, {
      maxChars,
      outputId: record.outputId,
      stream,
      storedChars: text.length,
      totalBytes,
    });
  const stdout = shape(output?.stdout ?? '', 'stdout', output?.stdoutTotalBytes ?? 0);
  const stderr = shape(output?.stderr ?? '', 'stderr', output?.stderrTotalBytes ?? 0);
  const status: RunStatus =
    record.state === 'proposed' || record.state === 'interrupted'
      ? 'failed'
      : record.state === 'pending_approval'
        ? 'pending_approval'
        : record.state;
  const facts: Omit<RunResult, 'forModel'> = {
    id: record.id,
    sessionId: record.sessionId,
    command: record.command,
    status,
    exitCode: record.exitCode,
    signal: record.signal,
    oomKilled: false,
    stdout: stdout.text,
    stderr: stderr.text,
    truncated: stdout.truncated || stderr.truncated,
    outputId: record.outputId,
    durationMs: record.durationMs ?? 0,
    decision: record.decision ?? 'ask',
    reasons: record.reasons,
    ruleIds: [],
    approvalId: record.approvalId,
    retryAfterMs: null,
    error:
      record.state === 'interrupted'
        ? { code: 'SANDBOX_LOST', message: 'the control plane stopped while this command was under way' }
        : record.state === 'proposed'
          ? { code: 'SANDBOX_LOST', message: 'the command never started: its control plane is gone' }
          : null,
    // Kept only in the live result; the audit log has each refused connection.
    refusedHosts: [],
  };
  return { ...facts, forModel: textForModel(facts) };
}
