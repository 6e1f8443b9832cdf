/**
 * While a person decides, the tool call stays open. Progress notifications tell the client (and,
 * through it, the person at the screen) what it waits for, and keep clients that reset their
 * request timeout on progress from giving up first.
 */
import type { Airlock } from '../airlock/index.ts';
import type { ToolCall } from './registrar.ts';

/** What the waiting is for, known at once (a command's approval) or found a moment later (a write's). */
export interface PendingApproval {
  readonly approvalId: string | null;
  /** ISO time after which an undecided request counts as denied. */
  readonly expiresAt: string | null;
}

/** A call's wait: a person's decision, or (once they approved) the command it let run. */
export type WaitState =
  | ({ readonly kind: 'approval' } & PendingApproval)
  | { readonly kind: 'running'; readonly approvalId: string };

export function approvalWaitMessage(pending: PendingApproval, waitedMs: number, nowMs: number): string {
  const waited = `${Math.round(waitedMs / 1000)} s so far`;
  const remainingMs = pending.expiresAt === null ? null : Date.parse(pending.expiresAt) - nowMs;
  const deadline =
    remainingMs === null || Number.isNaN(remainingMs)
      ? ''
      : `; undecided in ${Math.max(0, Math.round(remainingMs / 1000))} s means denied`;
  if (pending.approvalId === null) {
    return `waiting for a person's approval (${waited}${deadline}); they see it in airlock approvals ls`;
  }
  return (
    `waiting for a person's approval of ${pending.approvalId} (${waited}${deadline}); ` +
    `a person approves with: airlock approvals approve ${pending.approvalId}`
  );
}

function waitMessage(state: WaitState, waitedMs: number, nowMs: number): string {
  if (state.kind === 'approval') return approvalWaitMessage(state, waitedMs, nowMs);
  return `approved (${state.approvalId}); running (${Math.round(waitedMs / 1000)} s so far)`;
}

export interface ReportOptions {
  readonly intervalMs: number;
  readonly now: () => number;
  /** Delay before the first report; default 0 (at once). */
  readonly firstAfterMs?: number;
}

/**
 * Sends a progress line soon and every `intervalMs` until the returned function is called.
 * `describe` returning null means nothing is awaited (yet, or any more): that round sends nothing.
 * When the caller listens for no progress, nothing is sent (the call still waits).
 */
export function reportApprovalWait(
  call: ToolCall,
  describe: () => Promise<WaitState | null> | WaitState | null,
  options: ReportOptions,
): () => void {
  const report = call.reportProgress;
  if (report === undefined) return () => undefined;
  const startedMs = options.now();
  let stopped = false;
  const send = async (): Promise<void> => {
    const state = await describe();
    if (state === null || stopped || call.signal.aborted) return;
    const nowMs = options.now();
    await report(waitMessage(state, nowMs - startedMs, nowMs));
  };
  // A client that went away cannot be told; the wait itself ends through the request's signal.
  const sendQuietly = (): void => void send().catch(() => undefined);
  let repeat: ReturnType<typeof setInterval> | undefined;
  const first = setTimeout(() => {
    sendQuietly();
    repeat = setInterval(sendQuietly, options.intervalMs);
  }, options.firstAfterMs ?? 0);
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(repeat);
  };
}

/**
 * Progress for a call waiting on a command that needs approval `approvalId`: "waiting for a person"
 * while the request is pending, "approved; running" once it was approved, nothing once it was denied
 * or expired (the call answers at once then). The request is read each round only while it is pending.
 */
export function reportCommandApprovalWait(
  airlock: Airlock,
  call: ToolCall,
  approvalId: string,
  options: ReportOptions,
): () => void {
  let decided: WaitState | 'refused' | null = null;
  return reportApprovalWait(
    call,
    async () => {
      if (decided === null) {
        const record = await airlock.approvals.get(approvalId);
        if (record.status === 'pending') {
          return { kind: 'approval', approvalId, expiresAt: record.expiresAt };
        }
        decided = record.status === 'approved' ? { kind: 'running', approvalId } : 'refused';
      }
      return decided === 'refused' ? null : decided;
    },
    options,
  );
}
