/**
 * The sessions stage: a sandbox per session, its lifecycle (idle and lifetime reaping, a session
 * limit), snapshots, and recovery of what a crashed control plane left behind.
 */
export { capabilitiesOf, SANDBOX_HOME, SANDBOX_WORKSPACE } from './capabilities.ts';
export type { CapabilityInputs } from './capabilities.ts';
export { createSessionManager } from './manager.ts';
export type { SessionManager, SessionManagerOptions } from './manager-api.ts';
export { endSessionsOwnedBy } from './recovery.ts';
export type { RecoveryReport } from './recovery.ts';
export { presetOf } from './settings.ts';
export { currentOwner, isOwnerAlive } from './owner.ts';
export { createSnapshotStore } from './snapshots.ts';
export type { SnapshotStore } from './snapshots.ts';
export type {
  AttachSession,
  DriverFor,
  LiveSession,
  SecretFileValue,
  SessionAttachment,
  SessionCreateOptions,
  SessionGrant,
  SessionNetwork,
  SessionNetworkInput,
  SessionNetworkMode,
  SessionSecretInput,
  SessionDefaults,
  SessionEndCode,
  SessionPhase,
  SessionSettings,
  SnapshotInfo,
} from './types.ts';
export { NO_NETWORK, sessionEndReasons } from './types.ts';
export { asSessionWork } from './work.ts';
