import type { PresetName } from '../policy/index.ts';
import type { Driver, DriverName, Sandbox, SandboxSpec } from '../sandbox/index.ts';

/** What a caller may choose when creating a session; everything else comes from the configuration. */
export interface SessionCreateOptions {
  readonly driver?: DriverName;
  readonly image?: string;
  readonly memoryBytes?: number;
  readonly cpus?: number;
  readonly pids?: number;
  readonly scratchBytes?: number;
  /** Default per-command timeout in this session. */
  readonly timeoutMs?: number;
  /** Variables the sandbox sees, on top of the configured ones. */
  readonly env?: Readonly<Record<string, string>>;
  /** Variables the sandbox sees whose values are redacted from every output, log and audit record. */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /** The session ends after this long without a command. */
  readonly idleTimeoutMs?: number;
  /** The session ends this long after it was created, busy or not. */
  readonly ttlMs?: number;
  /** Start from a snapshot's workspace and /tmp instead of empty ones. */
  readonly from?: string;
  /** A policy preset for this session instead of the configured policy. */
  readonly policy?: PresetName;
}

/** A session's settings once defaults are applied; what the store records (secret values never). */
export interface SessionSettings {
  readonly driver: DriverName;
  readonly sandbox: SandboxSpec;
  readonly idleTimeoutMs: number;
  readonly ttlMs: number;
  readonly maxTimeoutMs: number;
  /** Names only: the values stay in memory. */
  readonly secretEnvNames: readonly string[];
  readonly fromSnapshot: string | null;
  /** The session's preset, or null for the configured policy. */
  readonly policy: PresetName | null;
}

export interface SessionDefaults {
  readonly driver: DriverName;
  readonly sandbox: SandboxSpec;
  readonly idleTimeoutMs: number;
  readonly ttlMs: number;
  readonly maxTimeoutMs: number;
}

export type SessionPhase = 'active' | 'ending' | 'ended';

/** Why a session ended, as a stable code; `sessionEndReasons` has the words people read. */
export type SessionEndCode =
  | 'closed'
  | 'idle_timeout'
  | 'lifetime_expired'
  | 'sandbox_ended'
  | 'sandbox_protocol_violation'
  | 'shutdown'
  | 'crashed'
  | 'node_lost';

export const sessionEndReasons: Readonly<Record<SessionEndCode, string>> = {
  closed: 'destroyed on request',
  idle_timeout: 'it was idle too long',
  lifetime_expired: 'its lifetime ended',
  sandbox_ended: 'the sandbox ended unexpectedly',
  sandbox_protocol_violation:
    'something inside the sandbox broke the supervisor protocol (a command took over its channel, say), so Airlock ended it',
  shutdown: 'the control plane shut down',
  crashed: 'the control plane running it stopped unexpectedly',
  node_lost: 'the cluster node running it stopped answering (lost)',
};

/**
 * A session this control plane runs: its sandbox and the state the router needs. Read-only to everyone
 * but the session manager: activity, work in flight and remembered approvals change through it
 * (`touch`, `beginWork`, `remember`), so the reaper's view of a session is never out of step.
 */
export interface LiveSession {
  readonly id: string;
  readonly sandbox: Sandbox;
  readonly settings: SessionSettings;
  /** Values of `secretEnv`, for redaction. */
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastActiveAt: number;
  /** Commands (and file operations) in flight; a busy session is never reaped as idle. */
  readonly busy: number;
  readonly phase: SessionPhase;
  readonly endCode: SessionEndCode | null;
  /** Parsed commands (and paths) a person approved "for this session". */
  readonly remembered: ReadonlySet<string>;
  /** Aborted when the session starts ending, so its commands stop. */
  readonly ending: AbortController;
}

export interface SnapshotInfo {
  readonly id: string;
  readonly name: string | null;
  readonly sessionId: string;
  readonly createdAt: string;
  readonly bytes: number;
  readonly settings: SessionSettings;
}

export type DriverFor = (name: DriverName) => Driver;
