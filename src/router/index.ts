/**
 * The router stage: policy → approval → rate limit → execute → shape output → record, plus the
 * approval requests people answer and the pure pieces (redaction, shaping, rate limiting) it uses.
 */
export { createApprovals, newApprovalId } from './approvals.ts';
export type {
  ApprovalDecision,
  ApprovalRequestInput,
  Approvals,
  ApprovalsOptions,
  DecideOptions,
} from './approvals.ts';
export { createRateLimiter } from './rate-limit.ts';
export type { RateLimiter } from './rate-limit.ts';
export { createRedactor, MIN_SECRET_LENGTH } from './redact.ts';
export { redactBytes } from './redact-bytes.ts';
export type { Redactor } from './redact.ts';
export { MIN_MAX_CHARS, shapeForModel } from './shape.ts';
export { createRouter, MAX_COMMAND_CHARS } from './router.ts';
export type { Router, RouterOptions } from './router.ts';
export { runStatuses } from './types.ts';
export type { FileWriteResult, RunOptions, RunResult, RunStatus } from './types.ts';
export type { CommandEvent } from './watch.ts';
