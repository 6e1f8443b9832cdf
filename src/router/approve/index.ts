/**
 * The approve stage: requests a person decides (kept in the store, so a decider in another process
 * sees and answers them), waiting for the decision, and what a refusal means.
 */
export { createApprovals, newApprovalId } from './approvals.ts';
export type {
  ApprovalDecision,
  ApprovalRequestInput,
  Approvals,
  ApprovalsOptions,
  DecideOptions,
  ReviewNote,
} from './approvals.ts';
export { requestApproval } from './request.ts';
export type { RequestDeps, ReviewedRequestInput } from './request.ts';
export { createReviewer, parseAnswer } from './reviewer.ts';
export type { Reviewer, ReviewOutcome, ReviewRequest } from './reviewer.ts';
export { awaitDecision, refusalReason } from './decision.ts';
export type { ApprovalOutcome, ApprovalSubject } from './decision.ts';
