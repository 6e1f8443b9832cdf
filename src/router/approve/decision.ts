/**
 * Waiting for a person's decision on one request, and what a refusal means in words. Undecided at the
 * deadline counts as denied; a caller that gives up (or a session that ends) withdraws the request, so
 * nobody can approve something that will never run.
 */
import type { ApprovalRecord } from '../../store/index.ts';
import type { Approvals } from './approvals.ts';

export type ApprovalOutcome =
  | { readonly approved: true; readonly record: ApprovalRecord }
  | {
      readonly approved: false;
      /** `withdrawn`: the caller or the session gave up before anyone decided. */
      readonly why: 'withdrawn' | 'expired' | 'denied';
      readonly record: ApprovalRecord | null;
    };

/** What is being approved, in the words of the reasons a refusal gives. */
export type ApprovalSubject = 'command' | 'write';

export async function awaitDecision(
  approvals: Approvals,
  approvalId: string,
  signal: AbortSignal,
  subject: ApprovalSubject,
): Promise<ApprovalOutcome> {
  const record = await approvals.waitOrWithdraw(
    approvalId,
    signal,
    `the ${subject} was cancelled before anyone decided`,
  );
  if (record === null) return { approved: false, why: 'withdrawn', record };
  if (record.status === 'approved') return { approved: true, record };
  return { approved: false, why: record.status === 'expired' ? 'expired' : 'denied', record };
}

/** Why it did not happen, for the model and the person reading the result. */
export function refusalReason(
  outcome: Extract<ApprovalOutcome, { approved: false }>,
  subject: ApprovalSubject,
  approvalTimeoutMs: number,
): string {
  switch (outcome.why) {
    case 'withdrawn':
      return `the ${subject} was cancelled while waiting for approval`;
    case 'expired':
      return subject === 'command'
        ? `no one approved it within ${Math.round(approvalTimeoutMs / 1000)} s, so it counts as denied`
        : 'no one approved it in time';
    case 'denied': {
      const why = outcome.record?.decisionReason;
      return `a person denied it${why ? `: ${why}` : ''}`;
    }
  }
}
