/** What the session manager offers, and what it is made from. */
import type { SessionRecord, Store } from '../store/index.ts';
import type { RecoveryReport } from './recovery.ts';
import type { SnapshotStore } from './snapshots.ts';
import type {
  AttachSession,
  DriverFor,
  LiveSession,
  SecretFileValue,
  SessionCreateOptions,
  SessionDefaults,
  SessionEndCode,
  SessionGrant,
  SessionNetwork,
  SnapshotInfo,
} from './types.ts';

export interface SessionManagerOptions {
  readonly store: Store;
  readonly driverFor: DriverFor;
  readonly defaults: SessionDefaults;
  readonly snapshots: SnapshotStore;
  /** This control plane, as recorded on its sessions (see owner.ts). */
  readonly owner: string;
  readonly maxSessions: number;
  readonly now?: () => number;
  /** How often idle and expired sessions are looked for. Default 1 s. */
  readonly reapIntervalMs?: number;
  /** Told after a session has ended and been recorded. */
  readonly onEnded?: (session: LiveSession) => void;
  readonly onCreated?: (session: LiveSession, createMs: number) => void;
  /**
   * Asked before each new session, after this manager's own limit: a cluster's limit over every node
   * (it throws LIMIT_REACHED to refuse). The returned release is called once the session is recorded,
   * or its creation failed.
   */
  readonly admit?: () => Promise<() => Promise<void>>;
  /**
   * Opens what a session needs beside its sandbox (its egress), before the sandbox is made; closed
   * once the sandbox is destroyed. Without it sessions have no network.
   */
  readonly attach?: AttachSession;
}

export interface SessionManager {
  create(options?: SessionCreateOptions): Promise<LiveSession>;
  /** A live session of this control plane; NOT_FOUND for an unknown id, SESSION_ENDED for an ended one. */
  get(id: string): Promise<LiveSession>;
  live(): LiveSession[];
  /** Whether this control plane runs the session now (a lookup, for every request that names one). */
  isLive(id: string): boolean;
  record(id: string): Promise<SessionRecord>;
  list(query?: {
    readonly state?: SessionRecord['state'];
    readonly limit?: number;
  }): Promise<SessionRecord[]>;
  /** Ends the session and destroys its sandbox; idempotent. */
  destroy(id: string): Promise<void>;
  /** Marks activity now: the idle timeout counts from here. */
  touch(session: LiveSession): void;
  /**
   * Marks work in flight (a command, a file copy) until the returned function is called: a busy
   * session is never reaped as idle, and both ends count as activity. Calling it twice is harmless.
   */
  beginWork(session: LiveSession): () => void;
  /**
   * Moves the end of the session's lifetime to `expiresInMs` from now (longer or shorter), at most
   * `maxTtlMs` after its creation: past that, INVALID_ARGUMENT with the latest end allowed. Recorded.
   */
  extend(id: string, expiresInMs: number): Promise<LiveSession>;
  /** Keys (parsed commands, `write_file <path>`) a person approved for the rest of the session. */
  remember(session: LiveSession, keys: readonly string[]): void;
  /**
   * A person's "remember" for the rest of the session: commands, programs or hosts. Hosts reach the
   * egress proxy too (with the ports `command`, the approved command, names for them) before this
   * resolves.
   */
  grant(session: LiveSession, grant: SessionGrant, command?: string): Promise<void>;
  /**
   * Every `host:port` the egress proxy now lets the session reach because a person said so (an ask
   * answered with remember, a grant from the dashboard or API, less those withdrawn): the policy
   * judges commands naming them as it judges hosts on the list. Ignored for a session not live here.
   */
  setEgressGrants(sessionId: string, hosts: readonly string[]): void;
  /**
   * A secret file entered the sandbox (`path`, absolute): its values are redacted from every output
   * from now on, and the policy judges reads of the file as reads of a secret the session was given.
   */
  addSecretFile(session: LiveSession, path: string, values: readonly SecretFileValue[]): void;
  /** The session's network after a live change (the egress proxy already enforces it). */
  setNetwork(session: LiveSession, network: SessionNetwork): void;
  snapshot(id: string, name?: string | null): Promise<SnapshotInfo>;
  /**
   * Ends what a crashed control plane left: its sessions, commands and approvals in the store, and
   * (through `sweepLeftovers`, which returns how much it removed) its sandboxes on the host.
   */
  recover(sweepLeftovers: () => Promise<number>): Promise<RecoveryReport>;
  /** Ends sessions past their idle timeout or lifetime; returns how many. */
  reap(): Promise<number>;
  /**
   * Ends every live session for one reason (a cluster that declared this node lost: the others have
   * already ended them in the store); returns how many.
   */
  endAll(code: SessionEndCode, detail?: string): Promise<number>;
  close(): Promise<void>;
}
