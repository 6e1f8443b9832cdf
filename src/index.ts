/**
 * Airlock's library surface: the control plane (`createAirlock`: sessions, commands, approvals, audit,
 * agents), and the sandbox drivers and policy engine, usable on their own.
 */
export { createAirlock } from './airlock/index.ts';
export type {
  AccessTokenInfo,
  AccessTokens,
  Airlock,
  AirlockApprovals,
  AirlockAudit,
  AirlockCommands,
  AirlockEgress,
  AirlockSessions,
  CreateAirlockOptions,
  EgressOverview,
  EgressTarget,
  Session,
  SessionInfo,
  UsageSample,
} from './airlock/index.ts';
export type { AgentEvent, AgentRunOptions, AgentRunStatus, Agents, AgentSummary } from './agent/index.ts';
export type {
  CheckResult,
  CommandEvent,
  FileWriteResult,
  RunOptions,
  RunResult,
  RunStatus,
  SessionScope,
} from './router/index.ts';
export type { SessionCreateOptions, SnapshotInfo } from './sessions/index.ts';
export type {
  ApprovalRecord,
  AuditEvent,
  AuditReport,
  OutputPage,
  SessionRecord,
  VerifyResult,
} from './store/index.ts';
export { AirlockError, errorCodes, isAirlockError } from './errors/index.ts';
export type { ErrorCode } from './errors/index.ts';
export { createDriver } from './sandbox/index.ts';
export type {
  Driver,
  DriverName,
  DriverOptions,
  ExecOptions,
  ExecResult,
  FileEntry,
  Sandbox,
  SandboxSpec,
  SandboxStats,
} from './sandbox/index.ts';
export {
  createPolicyEngine,
  evaluatePolicy,
  loadPolicy,
  PolicyLoadError,
  renderDecision,
} from './policy/index.ts';
export type { Decision, Policy, PolicyEngine, PolicySource } from './policy/index.ts';
