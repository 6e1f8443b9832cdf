import type { DriverName } from '../sandbox/index.ts';

/**
 * Every label value a metric can carry comes from one of these fixed sets. Label values reach us from
 * requests an agent shapes (a driver name, a status string), and each distinct value is a new time
 * series held in memory until the process ends — so anything outside the set is recorded as `other`.
 */
export const OTHER = 'other';

export const COMMAND_STATUSES = [
  'completed',
  'denied',
  'pending_approval',
  'timed_out',
  'rate_limited',
  'failed',
  'killed',
] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export const DRIVER_NAMES = ['bwrap', 'gvisor', 'docker'] as const satisfies readonly DriverName[];
// Fails to compile when a driver is added to the sandbox stage but not here.
const _everyDriverListed: Exclude<DriverName, (typeof DRIVER_NAMES)[number]> extends never ? true : never =
  true;

export const POLICY_DECISIONS = ['allow', 'ask', 'deny'] as const;
export type PolicyDecisionLabel = (typeof POLICY_DECISIONS)[number];

export const APPROVAL_OUTCOMES = ['approved', 'denied', 'expired'] as const;
export type ApprovalOutcome = (typeof APPROVAL_OUTCOMES)[number];

/** Why a session ended: asked by the client, idle or lifetime limit, its sandbox died, or shutdown. */
export const SESSION_END_REASONS = [
  'closed',
  'idle_timeout',
  'lifetime_expired',
  'sandbox_ended',
  'sandbox_protocol_violation',
  'shutdown',
  'node_lost',
  'error',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

export const MONITORED_RESOURCES = ['memory', 'pids', 'cpu'] as const;
export type MonitoredResource = (typeof MONITORED_RESOURCES)[number];

/** `value` when it is one of `allowed`, otherwise `other`; never throws, whatever `value` is at run time. */
export function labelOrOther<T extends string>(allowed: readonly T[], value: unknown): T | typeof OTHER {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : OTHER;
}

/** What became of an attempt to sign an audit checkpoint (see the store's checkpointer). */
export const CHECKPOINT_OUTCOMES = ['signed', 'nothing_new', 'refused', 'failed'] as const;
export type CheckpointOutcomeLabel = (typeof CHECKPOINT_OUTCOMES)[number];
