/**
 * The library's public objects (`airlock.sessions`, a `Session`, `airlock.audit`…): thin views that
 * translate calls into the session manager, the router and the store.
 */
import type { ResourceMonitor } from '../metrics/index.ts';
import type { PolicyEngine, PresetName } from '../policy/index.ts';
import type {
  ApprovalRecord,
  AuditEvent,
  AuditExportQuery,
  EventQuery,
  OutputPage,
  SessionRecord,
  AuditReport,
  Store,
} from '../store/index.ts';
import { exportAuditJsonl } from '../store/index.ts';
import type {
  CommandCheck,
  CommandEvent,
  DecideOptions,
  FileWriteResult,
  Router,
  RunOptions,
  RunResult,
  SessionScope,
} from '../router/index.ts';
import type { FileEntry, SandboxInfo, SandboxStats } from '../sandbox/index.ts';
import type { LiveSession, SessionCreateOptions, SessionManager, SnapshotInfo } from '../sessions/index.ts';

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
}

export interface Session {
  readonly id: string;
  run(command: string, options?: RunOptions): Promise<RunResult>;
  /**
   * What `run` would decide for the command now, without running it, asking anyone or recording a
   * run (a dry run of the decide stage).
   */
  check(command: string): Promise<CommandCheck>;
  readonly commands: {
    get(id: string): Promise<RunResult>;
    wait(id: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
    kill(id: string): Promise<RunResult>;
    /** Live output and the final result of one of this session's commands (see `AirlockCommands.watch`). */
    watch(id: string, options?: { readonly signal?: AbortSignal }): AsyncIterable<CommandEvent>;
  };
  readonly files: {
    write(
      path: string,
      data: string | Uint8Array,
      options?: {
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
  stats(): Promise<SandboxStats>;
  snapshot(name?: string): Promise<SnapshotInfo>;
  destroy(): Promise<void>;
}

export interface AirlockSessions {
  create(options?: SessionCreateOptions): Promise<Session>;
  /** A live session of this control plane. */
  get(id: string): Promise<Session>;
  info(id: string): Promise<SessionInfo>;
  /** Oldest first; with `limit`, only the newest that many. */
  list(query?: {
    readonly state?: SessionRecord['state'];
    readonly limit?: number;
  }): Promise<SessionRecord[]>;
  destroy(id: string): Promise<void>;
}

/**
 * Commands and outputs by id. With `within`, only those of the sessions it names are found: any other
 * is answered NOT_FOUND, exactly like an id that does not exist (the one ownership check every surface
 * uses).
 */
export interface AirlockCommands {
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
  readonly monitor: ResourceMonitor;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  /** Makes the engine of a session's chosen preset before the session exists. */
  readonly preparePolicy: (preset: PresetName | undefined) => Promise<void>;
  /** Refuses secret values that cannot be redacted safely, before a sandbox is made for them. */
  readonly checkSecrets: (secretEnv: Readonly<Record<string, string>> | undefined) => void;
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
  };
}

export function toSessionHandle(session: LiveSession, parts: ViewParts): Session {
  const { manager, router } = parts;
  /** Every call re-checks the session is live, so a handle kept after destroy fails with SESSION_ENDED. */
  const live = (): Promise<LiveSession> => manager.get(session.id);
  return {
    id: session.id,
    run: async (command, options) => router.run(await live(), command, options),
    check: async (command) => router.checkCommand(await live(), command),
    commands: {
      get: (id) => router.getCommand(id, { within: session.id }),
      wait: (id, options) => router.waitCommand(id, { ...options, within: session.id }),
      kill: (id) => router.killCommand(id, { within: session.id }),
      watch: (id, options) => router.watchCommand(id, { ...options, within: session.id }),
    },
    files: {
      write: async (path, data, options) => router.writeFile(await live(), path, data, options),
      read: async (path, options) => router.readFile(await live(), path, options),
      list: async (path) => router.listFiles(await live(), path),
    },
    info: async () => infoOf(await manager.record(session.id), parts),
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
    list: (query) => manager.list(query),
    destroy: (id) => manager.destroy(id),
  };
}

export function createAuditView(store: Store, verify: () => Promise<AuditReport>): AirlockAudit {
  return {
    list: (query) => store.listEvents(query),
    verify,
    exportJsonl: (write, query) => exportAuditJsonl(store, write, query),
  };
}
