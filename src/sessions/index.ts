/**
 * The sessions stage: a sandbox per session, its lifecycle (idle and lifetime reaping, a session
 * limit), snapshots, and recovery of what a crashed control plane left behind.
 */
export { createSessionManager } from './manager.ts';
export type { SessionManager, SessionManagerOptions } from './manager.ts';
export { endSessionsOwnedBy } from './recovery.ts';
export type { RecoveryReport } from './recovery.ts';
export { presetOf } from './settings.ts';
export { currentOwner, isOwnerAlive } from './owner.ts';
export { createSnapshotStore } from './snapshots.ts';
export type { SnapshotStore } from './snapshots.ts';
export type {
  DriverFor,
  LiveSession,
  SessionCreateOptions,
  SessionDefaults,
  SessionEndCode,
  SessionPhase,
  SessionSettings,
  SnapshotInfo,
} from './types.ts';
export { sessionEndReasons } from './types.ts';
