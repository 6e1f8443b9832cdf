/**
 * Airlock's library surface. The control plane (`createAirlock`: sessions, approvals, audit) comes
 * with the router; today the sandbox drivers and the policy engine are usable on their own.
 */
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
