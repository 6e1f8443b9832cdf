import type { PresetName, SessionCapabilities } from '../policy/index.ts';
import type { Driver, DriverName, Sandbox, SandboxEgress, SandboxSpec } from '../sandbox/index.ts';
import type { ApprovalGrant } from '../store/index.ts';

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
  /**
   * What the session may reach through the egress proxy, as airlock.yaml's `sandbox.network` writes
   * it; never wider than the configuration's (checked before the sandbox is made). Default: the
   * configuration's.
   */
  readonly network?: SessionNetworkInput;
  /**
   * Secrets of the configuration's `sandbox.secrets` this session gets (by name, for some of their
   * hosts); default: all of them.
   */
  readonly secrets?: readonly SessionSecretInput[];
}

/** `sandbox.network` as a caller writes it: `none`, or a mode, host globs and fixed addresses. */
export type SessionNetworkInput =
  | 'none'
  | {
      readonly mode?: SessionNetworkMode | undefined;
      readonly allow?: readonly string[] | undefined;
      readonly hosts?: Readonly<Record<string, string>> | undefined;
    };

/** One of the configuration's secrets, for a session: its hosts narrowed, never its value changed. */
export interface SessionSecretInput {
  readonly name: string;
  readonly hosts?: readonly string[] | undefined;
  /** If given, it must be the configuration's own source for this secret. */
  readonly fromEnv?: string | undefined;
  readonly value?: string | undefined;
}

export type SessionNetworkMode = 'none' | 'allowlist' | 'ask';

/**
 * What a live session's commands can reach, as it is now (a live change updates it): the mode, the
 * allow-list as written, what `registry:*` entries resolve to on this machine, fixed addresses, and
 * the secrets the proxy swaps in (names and hosts, never values). The policy judges network commands
 * against it.
 */
export interface SessionNetwork {
  readonly mode: SessionNetworkMode;
  /** Entries as written: `api.example.test`, `*.docs.example.org:443`, `registry:npm`. */
  readonly allow: readonly string[];
  /** Registry name (`npm`, `pypi`) → the `host:port`s the machine's configuration uses for it. */
  readonly registryNames: Readonly<Record<string, readonly string[]>>;
  readonly hosts: Readonly<Record<string, string>>;
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly hosts: readonly string[] }>;
}

/** A session without a way out: only its sandbox's own loopback. */
export const NO_NETWORK: SessionNetwork = Object.freeze({
  mode: 'none',
  allow: Object.freeze([]),
  registryNames: Object.freeze({}),
  hosts: Object.freeze({}),
  secrets: Object.freeze([]),
});

/**
 * What a session gets beside its sandbox, opened before the sandbox is made (its id is known, its
 * sandbox not yet) and closed after the sandbox is destroyed: the egress proxy's side of it.
 */
export interface SessionAttachment {
  /** Added to the sandbox's environment: proxy variables, CA variables, secret placeholders. */
  readonly env: Readonly<Record<string, string>>;
  /** The sandbox's way out; absent for a session without network. */
  readonly egress?: SandboxEgress;
  readonly network: SessionNetwork;
  /** Secret values the proxy holds, for redaction from every output. */
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /**
   * A person granted these hosts for the rest of the session (approving `command` with scope
   * `host`): the proxy lets them through from now on, so the approved command is not asked about
   * again at the boundary. Never throws: a host it cannot grant still asks there.
   */
  grantHosts?(hosts: readonly string[], command: string | undefined): Promise<void>;
  close(): Promise<void>;
}

export type AttachSession = (sessionId: string, input: SessionCreateOptions) => Promise<SessionAttachment>;

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
  /** The longest a session may live from its creation, extensions included. */
  readonly maxTtlMs: number;
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
  /** Values of `secretEnv` and of the secrets the egress proxy swaps in, for redaction. */
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  /**
   * Values found in secret files copied into the sandbox, for redaction. Replaced (never changed in
   * place) when a file adds some, so a cache keyed on it knows when to rebuild.
   */
  readonly fileSecrets: readonly SecretFileValue[];
  /** What its commands can reach through the egress proxy, as it is now. */
  readonly network: SessionNetwork;
  /**
   * What the session's sandbox lets commands do, for the policy. Replaced (never changed in place) when
   * a person grants a host, a secret file is copied in or the network changes.
   */
  readonly capabilities: SessionCapabilities;
  readonly createdAt: number;
  /** When the session ends, busy or not; moved by `extend`, never past `maxTtlMs` from creation. */
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
