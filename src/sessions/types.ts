import type { PresetName, SessionCapabilities } from '../policy/index.ts';
import type { Driver, DriverName, Sandbox, SandboxSpec } from '../sandbox/index.ts';
import type { ApprovalGrant } from '../store/index.ts';
import type { SessionNetwork } from './capabilities.ts';

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
  /**
   * What a session's sandbox can reach, for the policy: only loopback (the default) until an egress
   * proxy serves sessions; a file's `network:` section cannot widen what the sandbox really reaches.
   */
  readonly network?: SessionNetwork;
}

/** A person's "remember" for the rest of a session: this exact command, this program, this host. */
export type SessionGrant = ApprovalGrant;

/** A secret value found in a file copied into the sandbox, redacted from every output from then on. */
export interface SecretFileValue {
  /** Names the marker (`[REDACTED:env:NAME]`): the key it was set under, or a name for the file. */
  readonly name: string;
  readonly value: string;
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
  | 'crashed';

export const sessionEndReasons: Readonly<Record<SessionEndCode, string>> = {
  closed: 'destroyed on request',
  idle_timeout: 'it was idle too long',
  lifetime_expired: 'its lifetime ended',
  sandbox_ended: 'the sandbox ended unexpectedly',
  sandbox_protocol_violation:
    'something inside the sandbox broke the supervisor protocol (a command took over its channel, say), so Airlock ended it',
  shutdown: 'the control plane shut down',
  crashed: 'the control plane running it stopped unexpectedly',
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
  /**
   * Values found in secret files copied into the sandbox, for redaction. Replaced (never changed in
   * place) when a file adds some, so a cache keyed on it knows when to rebuild.
   */
  readonly fileSecrets: readonly SecretFileValue[];
  /**
   * What the session's sandbox lets commands do, for the policy. Replaced (never changed in place) when
   * a person grants a host or a secret file is copied in.
   */
  readonly capabilities: SessionCapabilities;
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly lastActiveAt: number;
  /** Commands (and file operations) in flight; a busy session is never reaped as idle. */
  readonly busy: number;
  readonly phase: SessionPhase;
  readonly endCode: SessionEndCode | null;
  /** Parsed commands (and `write_file <path>`) a person approved "for this session". */
  readonly remembered: ReadonlySet<string>;
  /** Programs a person approved "for this session": their commands that would ask run unasked. */
  readonly grantedPrograms: ReadonlySet<string>;
  /** Hosts a person approved "for this session" (also in `capabilities.network.allow`). */
  readonly grantedHosts: ReadonlySet<string>;
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
