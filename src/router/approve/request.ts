/**
 * Asking for a decision: the reviewer first (when one is configured), then the request is recorded
 * for people with what the reviewer said; a reviewer's approval or denial decides it at once, audited
 * as `reviewer:<name>`, and an abstention leaves it to a person. People see the request only once the
 * reviewer has abstained (or decided), so nobody is asked what a reviewer settles.
 */
import type { SessionCapabilities } from '../../policy/index.ts';
import { isAirlockError } from '../../errors/index.ts';
import type { ApprovalRecord } from '../../store/index.ts';
import type { ApprovalRequestInput, Approvals } from './approvals.ts';
import type { Reviewer, ReviewRequest } from './reviewer.ts';

export interface RequestDeps {
  readonly approvals: Approvals;
  readonly reviewer: Reviewer | null;
}

export interface ReviewedRequestInput extends ApprovalRequestInput {
  readonly id: string;
  readonly ruleIds: readonly string[];
  readonly capabilities: SessionCapabilities;
}

function reviewRequestOf(input: ReviewedRequestInput): ReviewRequest {
  const { capabilities } = input;
  return {
    version: 1,
    approvalId: input.id,
    sessionId: input.sessionId,
    commandId: input.commandId,
    action: input.action,
    subject: input.subject,
    parsed: [...input.parsed],
    reasons: [...input.reasons],
    ruleIds: [...input.ruleIds],
    session: {
      driver: capabilities.driver,
      network: { mode: capabilities.network.mode, allow: [...capabilities.network.allow] },
      secrets: {
        envNames: [...capabilities.secrets.envNames],
        files: [...capabilities.secrets.files],
      },
    },
  };
}

/** The recorded request: still pending for a person, or already decided by the reviewer. */
export async function requestApproval(
  deps: RequestDeps,
  input: ReviewedRequestInput,
  signal: AbortSignal,
): Promise<ApprovalRecord> {
  const { approvals, reviewer } = deps;
  const outcome = reviewer === null ? null : await reviewer.review(reviewRequestOf(input), signal);
  const { ruleIds: _ruleIds, capabilities: _capabilities, ...request } = input;
  const record = await approvals.request({
    ...request,
    ...(outcome === null || reviewer === null ? {} : { review: { reviewer: reviewer.name, ...outcome } }),
  });
  if (outcome === null || reviewer === null || outcome.decision === 'abstain') return record;
  try {
    return await approvals.decide(record.id, outcome.decision, {
      decidedBy: `reviewer:${reviewer.name}`,
      ...(outcome.reason === null ? {} : { reason: outcome.reason }),
    });
  } catch (error) {
    // Someone decided (or withdrew it) first: theirs stands.
    if (isAirlockError(error) && error.code === 'APPROVAL_CLOSED') return approvals.get(record.id);
    throw error;
  }
}
