/**
 * The router: the pipeline every surface goes through, one named stage a folder — decide, approve,
 * rate, execute, shape, record — each with its own door.
 */
export { createApprovals, createReviewer, newApprovalId, parseAnswer } from './approve/index.ts';
export type {
  ApprovalDecision,
  ApprovalRequestInput,
  Approvals,
  ApprovalsOptions,
  DecideOptions,
  Reviewer,
  ReviewOutcome,
  ReviewRequest,
} from './approve/index.ts';
export { createRateLimiter } from './rate/index.ts';
export type { RateLimiter } from './rate/index.ts';
export {
  createRedactor,
  MIN_MAX_CHARS,
  MIN_SECRET_LENGTH,
  redactBytes,
  shapeForModel,
} from './shape/index.ts';
export type { CommandEvent, Redactor } from './shape/index.ts';
export { DEFAULT_ARCHIVE_LIMITS } from './archive/index.ts';
export type {
  ArchiveInOptions,
  ArchiveInResult,
  ArchiveLimits,
  ArchiveOutOptions,
  ArchiveOutResult,
  ArchiveOutStream,
  ArchiveOutStreaming,
  ArchiveOutSummary,
  ChangesOptions,
  ChangesResult,
  LeftOut,
} from './archive/index.ts';
export type { ChangeOptions, FileChangeResult, FileStat, ManyFile } from './file-changes.ts';
export { createRouter } from './router.ts';
export type { Router, RouterOptions } from './router.ts';
export { MAX_COMMAND_CHARS } from './run-input.ts';
export type { EgressTracking, RefusedConnection, TrackedEgress } from './egress.ts';
export { runStatuses } from './types.ts';
export type {
  CheckResult,
  FileWriteResult,
  RunOptions,
  RunResult,
  RunStatus,
  SessionScope,
} from './types.ts';
