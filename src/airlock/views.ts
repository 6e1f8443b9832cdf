/**
 * The library's public objects (`airlock.sessions`, a `Session`, `airlock.audit`…): thin views that
 * translate calls into the session manager, the router and the store.
 */
import type { RouterConfig } from '../config/index.ts';
import type { ResourceMonitor, ResourceSample } from '../metrics/index.ts';
import type { Decision, PolicyEngine, PresetName } from '../policy/index.ts';
import type {
  ApprovalRecord,
  AuditEvent,
  AuditExportQuery,
  CommandQuery,
  CommandRecord,
  EventQuery,
  OutputPage,
  SessionRecord,
  AuditReport,
  Store,
} from '../store/index.ts';
import { exportAuditJsonl } from '../store/index.ts';
import type {
  CheckResult,
  CommandEvent,
  DecideOptions,
  FileWriteResult,
  Router,
  RunOptions,
  RunResult,
  SessionScope,
} from '../router/index.ts';
import type { FileEntry, SandboxInfo, SandboxStats } from '../sandbox/index.ts';
import { NO_NETWORK } from '../sessions/index.ts';
import type {
  LiveSession,
  SessionCreateOptions,
  SessionManager,
  SessionNetwork,
  SessionNetworkInput,
  SnapshotInfo,
} from '../sessions/index.ts';
import { boundaryOf } from './session-boundary.ts';
import type { SessionBoundary } from './session-boundary.ts';

export interface SessionInfo {
  readonly id: string;
  readonly state: SessionRecord['state'];
  readonly driver: string;
  readonly createdAt: string;
  readonly lastActiveAt: string;
  readonly expiresAt: string | null;
  readonly endedAt: string | null;
  readonly endReason: string | null;
  readonly limits: {
    readonly memoryBytes: number;
    readonly cpus: number;
    readonly pids: number;
    readonly scratchBytes: number;
    readonly timeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly policy: string;
  /** How the sandbox isolates (`bwrap`, `gvisor` with its platform, `docker/runc`…); null once ended. */
  readonly isolation: SandboxInfo | null;
  /** Latest resource sample, when the session is live and has been sampled. */
  readonly usage: {
    readonly memoryBytes: number;
    readonly pids: number;
    readonly cpuUsageMs: number;
    readonly cpuFraction: number | null;
  } | null;
  /** What will ask in this session (network, secrets, approvals, grants); null once it has ended. */
  readonly boundary: SessionBoundary | null;
  /**
   * What its commands can reach through the egress proxy: as it is now for a live session, as it was
   * created for an ended one. Secrets by name and hosts, never values.
   */
  readonly network: NetworkInfo;
}

export interface NetworkInfo {
  readonly mode: SessionNetwork['mode'];
  readonly allow: readonly string[];
  readonly hosts: Readonly<Record<string, string>>;
  readonly secrets: ReadonlyArray<{ readonly name: string; readonly hosts: readonly string[] }>;
}

export interface Session {
  readonly id: string;
  run(command: string, options?: RunOptions): Promise<RunResult>;
  readonly commands: {
    get(id: string): Promise<RunResult>;
    wait(id: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
    kill(id: string): Promise<RunResult>;
    /** Live output and the final result of one of this session's commands (see `AirlockCommands.watch`). */
    watch(id: string, options?: { readonly signal?: AbortSignal }): AsyncIterable<CommandEvent>;
    /** A dry run: what running `command` would do now (allow, ask, deny, and why). Nothing runs; audited. */
    check(command: string): Promise<CheckResult>;
  };
  readonly files: {
    /** Judged like a shell write; one that needs a person waits `approvalWaitMs` (default `router.approvalWait`). */
    write(
      path: string,
      data: string | Uint8Array,
      options?: {
        readonly approvalWaitMs?: number;
        readonly waitForApproval?: boolean;
        readonly signal?: AbortSignal;
        /**
         * The host's own copy (a workspace brought in by the person running Airlock), not a model's:
         * no approval is asked; the audit record says operator. Never set it for a caller's request.
         */
        readonly operator?: boolean;
      },
    ): Promise<FileWriteResult>;
    /** The file's bytes, with the session's secrets redacted like any other output; audited. */
    read(path: string, options?: { readonly maxBytes?: number }): Promise<Buffer>;
    /** The directory's entries, names redacted; audited. */
    list(path: string): Promise<FileEntry[]>;
  };
  info(): Promise<SessionInfo>;
  /**
   * Changes what the session may reach, live (within the server's configuration); connections
   * already open keep going. Secrets cannot change.
   */
  setNetwork(network: SessionNetworkInput): Promise<SessionInfo>;
  /**
   * How the session's policy reads a command now (parsed commands, effects, the rules that decided),
   * without running or recording anything. Give it redacted text: what it returns is shown to people.
   */
  explain(command: string): Promise<Decision>;
  stats(): Promise<SandboxStats>;
  snapshot(name?: string): Promise<SnapshotInfo>;
  destroy(): Promise<void>;
}

export interface AirlockSessions {
  create(options?: SessionCreateOptions): Promise<Session>;
  /** A live session of this control plane. */
  get(id: string): Promise<Session>;
  info(id: string): Promise<SessionInfo>;
  /** See `Session.setNetwork`. */
  setNetwork(id: string, network: SessionNetworkInput): Promise<SessionInfo>;
  /** Oldest first; with `limit`, only the newest that many. */
  list(query?: {
    readonly state?: SessionRecord['state'];
    readonly limit?: number;
  }): Promise<SessionRecord[]>;
  destroy(id: string): Promise<void>;
  /** The session's recent resource samples (about ten minutes), oldest first; empty once it ended. */
  usage(id: string): readonly UsageSample[];
}

export interface UsageSample {
  /** ISO 8601 UTC. */
  readonly at: string;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly cpuFraction: number | null;
}

function usageOf(sample: Readonly<ResourceSample>): UsageSample {
  return {
    at: new Date(sample.at).toISOString(),
    memoryBytes: sample.memoryBytes,
    pids: sample.pids,
    cpuFraction: sample.cpuFraction,
  };
}

/**
 * Commands and outputs by id. With `within`, only those of the sessions it names are found: any other
 * is answered NOT_FOUND, exactly like an id that does not exist (the one ownership check every surface
 * uses).
 */
export interface AirlockCommands {
  /** A page of commands of every session (or one), newest first. */
  list(query: CommandQuery): Promise<CommandRecord[]>;
  get(id: string, options?: { readonly within?: SessionScope }): Promise<RunResult>;
  wait(
    id: string,
    options?: { readonly signal?: AbortSignal; readonly within?: SessionScope },
  ): Promise<RunResult>;
  kill(id: string, options?: { readonly within?: SessionScope }): Promise<RunResult>;
  /**
   * A command's events as they happen: for a running background command, what its live window holds,
   * then each new piece of output (whole lines, redacted), then one `status` event with the final
   * result, and the iteration ends. A command waiting for approval gives nothing until it runs or
   * ends; one that has ended, or runs in the foreground, gives only the `status` event. An unknown id
   * rejects the first `next()` with NOT_FOUND, and so does a ninth watcher of one command with
   * LIMIT_REACHED; aborting `signal` ends the iteration quietly. A reader that falls behind by more
   * than 1 MiB loses output and is told how much.
   */
  watch(
    id: string,
    options?: { readonly signal?: AbortSignal; readonly within?: SessionScope },
  ): AsyncIterable<CommandEvent>;
  readOutput(
    id: string,
    page?: {
      readonly stream?: 'stdout' | 'stderr';
      readonly offset?: number;
      readonly limit?: number;
      readonly within?: SessionScope;
    },
  ): Promise<OutputPage>;
}

export interface AirlockApprovals {
  list(query?: {
    readonly status?: ApprovalRecord['status'];
    readonly sessionId?: string;
  }): Promise<ApprovalRecord[]>;
  get(id: string): Promise<ApprovalRecord>;
  approve(id: string, options?: DecideOptions): Promise<ApprovalRecord>;
  deny(id: string, options?: DecideOptions): Promise<ApprovalRecord>;
  waitFor(id: string, options?: { readonly signal?: AbortSignal }): Promise<ApprovalRecord>;
}

export interface AirlockAudit {
  list(query?: EventQuery): Promise<AuditEvent[]>;
  /**
   * The hash chain, every stored checkpoint signed with this control plane's key, the anchor kept
   * outside the store and the configured witness; the first problem, or how far each reaches.
   */
  verify(): Promise<AuditReport>;
  exportJsonl(write: (line: string) => void | Promise<void>, query?: AuditExportQuery): Promise<number>;
}

interface ViewParts {
  readonly manager: SessionManager;
  readonly router: Router;
  readonly routerConfig: RouterConfig;
  readonly monitor: ResourceMonitor;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  /** Makes the engine of a session's chosen preset before the session exists. */
  readonly preparePolicy: (preset: PresetName | undefined) => Promise<void>;
  /** Refuses secret values that cannot be redacted safely, before a sandbox is made for them. */
  readonly checkSecrets: (secretEnv: Readonly<Record<string, string>> | undefined) => void;
  /** The egress side of a live network change (checked, enforced, audited); undefined without egress. */
  readonly updateNetwork: (session: LiveSession, network: SessionNetworkInput) => Promise<SessionNetwork>;
}

function networkInfo(network: SessionNetwork): NetworkInfo {
  return { mode: network.mode, allow: network.allow, hosts: network.hosts, secrets: network.secrets };
}

/** The network an ended session was created with, from its record (older records have none). */
function recordedNetwork(spec: SessionRecord['spec']): NetworkInfo {
  const recorded = spec['network'];
  if (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded))
    return networkInfo(NO_NETWORK);
  const mode = recorded['mode'];
  return {
    mode: mode === 'allowlist' || mode === 'ask' ? mode : 'none',
    allow: Array.isArray(recorded['allow'])
      ? recorded['allow'].filter((entry) => typeof entry === 'string')
      : [],
    hosts: isStringRecord(recorded['hosts']) ? recorded['hosts'] : {},
    secrets: Array.isArray(recorded['secrets'])
      ? recorded['secrets'].flatMap((secret) =>
          typeof secret === 'object' &&
          secret !== null &&
          !Array.isArray(secret) &&
          typeof secret['name'] === 'string'
            ? [
                {
                  name: secret['name'],
                  hosts: Array.isArray(secret['hosts'])
                    ? secret['hosts'].filter((host) => typeof host === 'string')
                    : [],
                },
              ]
            : [],
        )
      : [],
  };
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((entry) => typeof entry === 'string')
  );
}

function infoOf(record: SessionRecord, parts: ViewParts): SessionInfo {
  const spec = record.spec;
  const live = parts.manager.live().find((session) => session.id === record.id);
  const number = (key: string): number => (typeof spec[key] === 'number' ? spec[key] : 0);
  const sample = record.state === 'active' ? parts.monitor.latest(record.id) : null;
  return {
    id: record.id,
    state: record.state,
    driver: record.driver,
    createdAt: record.createdAt,
    lastActiveAt: live === undefined ? record.lastActiveAt : new Date(live.lastActiveAt).toISOString(),
    expiresAt: record.expiresAt,
    endedAt: record.endedAt,
    endReason: record.endReason,
    limits: {
      memoryBytes: number('memoryBytes'),
      cpus: number('cpus'),
      pids: number('pids'),
      scratchBytes: number('scratchBytes'),
      timeoutMs: number('timeoutMs'),
      idleTimeoutMs: number('idleTimeoutMs'),
    },
    policy:
      live !== undefined
        ? parts.policyFor(live).policy.origin
        : typeof spec['policy'] === 'string'
          ? `preset:${spec['policy']}`
          : 'the configured policy',
    isolation: live === undefined ? null : (live.sandbox.info ?? { isolation: live.settings.driver }),
    usage:
      sample === null
        ? null
        : {
            memoryBytes: sample.memoryBytes,
            pids: sample.pids,
            cpuUsageMs: sample.cpuUsageMs,
            cpuFraction: sample.cpuFraction,
          },
    boundary: live === undefined ? null : boundaryOf(live, parts.routerConfig),
    network: live === undefined ? recordedNetwork(spec) : networkInfo(live.network),
  };
}

async function setNetwork(parts: ViewParts, id: string, network: SessionNetworkInput): Promise<SessionInfo> {
  const session = await parts.manager.get(id);
  parts.manager.setNetwork(session, await parts.updateNetwork(session, network));
  return infoOf(await parts.manager.record(id), parts);
}

export function toSessionHandle(session: LiveSession, parts: ViewParts): Session {
  const { manager, router } = parts;
  /** Every call re-checks the session is live, so a handle kept after destroy fails with SESSION_ENDED. */
  const live = (): Promise<LiveSession> => manager.get(session.id);
  return {
    id: session.id,
    run: async (command, options) => router.run(await live(), command, options),
    commands: {
      get: (id) => router.getCommand(id, { within: session.id }),
      wait: (id, options) => router.waitCommand(id, { ...options, within: session.id }),
      kill: (id) => router.killCommand(id, { within: session.id }),
      watch: (id, options) => router.watchCommand(id, { ...options, within: session.id }),
      check: async (command) => router.check(await live(), command),
    },
    files: {
      write: async (path, data, options) => router.writeFile(await live(), path, data, options),
      read: async (path, options) => router.readFile(await live(), path, options),
      list: async (path) => router.listFiles(await live(), path),
    },
    info: async () => infoOf(await manager.record(session.id), parts),
    setNetwork: (network) => setNetwork(parts, session.id, network),
    explain: async (command) => parts.policyFor(await live()).evaluate(command),
    stats: async () => (await live()).sandbox.stats(),
    snapshot: (name) => manager.snapshot(session.id, name ?? null),
    destroy: () => manager.destroy(session.id),
  };
}

export function createSessionsView(parts: ViewParts): AirlockSessions {
  const { manager } = parts;
  return {
    create: async (options) => {
      parts.checkSecrets(options?.secretEnv);
      await parts.preparePolicy(options?.policy);
      return toSessionHandle(await manager.create(options), parts);
    },
    get: async (id) => toSessionHandle(await manager.get(id), parts),
    info: async (id) => infoOf(await manager.record(id), parts),
    setNetwork: (id, network) => setNetwork(parts, id, network),
    list: (query) => manager.list(query),
    destroy: (id) => manager.destroy(id),
    usage: (id) => parts.monitor.history(id).map(usageOf),
  };
}

export function createAuditView(store: Store, verify: () => Promise<AuditReport>): AirlockAudit {
  return {
    list: (query) => store.listEvents(query),
    verify,
    exportJsonl: (write, query) => exportAuditJsonl(store, write, query),
  };
}
