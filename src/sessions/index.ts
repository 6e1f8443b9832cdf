/**
 * The sessions stage: a sandbox per session, its lifecycle (idle and lifetime reaping, a session
 * limit), snapshots, and recovery of what a crashed control plane left behind.
 */
export { createSessionManager, presetOf } from './manager.ts';
export type { RecoveryReport, SessionManager, SessionManagerOptions } from './manager.ts';
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
