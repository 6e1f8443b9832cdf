/**
 * The library's public objects (`airlock.sessions`, a `Session`, `airlock.audit`…): thin views that
 * translate calls into the session manager, the router and the store.
 */
import type { ResourceSample } from '../metrics/index.ts';
import type { Decision, PresetName } from '../policy/index.ts';
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
  ArchiveInOptions,
  ArchiveInResult,
  ArchiveOutOptions,
  ArchiveOutResult,
  ArchiveOutStream,
  ArchiveOutStreaming,
  ChangesOptions,
  ChangeOptions,
  ChangesResult,
  FileChangeResult,
  FileStat,
  FileWriteResult,
  ManyFile,
  Router,
  RunOptions,
  RunResult,
  SessionScope,
} from '../router/index.ts';
import type { FileEntry, SandboxStats } from '../sandbox/index.ts';
import type {
  LiveSession,
  SessionCreateOptions,
  SessionNetwork,
  SessionNetworkInput,
  SnapshotInfo,
} from '../sessions/index.ts';
import { infoOf } from './session-info.ts';
import type { SessionInfo, SessionInfoParts } from './session-info.ts';

export interface Session {
  readonly id: string;
  run(command: string, options?: RunOptions): Promise<RunResult>;
  readonly commands: {
    get(id: string): Promise<RunResult>;
    wait(id: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
    kill(id: string): Promise<RunResult>;
    /** This session's commands in flight (running, waiting for approval), oldest first. */
    list(): RunResult[];
    /** Input for an interactive command (text as UTF-8), or `end`; recorded, redacted. */
    sendInput(
      id: string,
      input: { readonly data?: string | Uint8Array; readonly end?: boolean },
    ): Promise<{ readonly written: number }>;
    /** A new size for an interactive command's terminal. */
    resize(id: string, size: { readonly cols: number; readonly rows: number }): Promise<void>;
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
    /**
     * A tar archive (optionally gzip; bytes, or a stream read as it comes) unpacked into directory
     * `path`, created if missing. Checked whole before anything is unpacked (UNSAFE_ARCHIVE on an absolute or `..` name, a link, a device, too
     * many entries or bytes); unpacked inside the sandbox; audited.
     */
    putArchive(
      path: string,
      archive: Uint8Array | AsyncIterable<Uint8Array>,
      options?: ArchiveInOptions,
    ): Promise<ArchiveInResult>;
    /** Directory `path` as a tar archive, through the export checks (what was left out says why); audited. */
    getArchive(path: string, options?: ArchiveOutOptions): Promise<ArchiveOutResult>;
    /**
     * The same, spooled to a private host file and streamed (`stream()`, once): the host never holds
     * the tree whole. Call `discard()` when not streaming it.
     */
    openArchive(path: string, options?: ArchiveOutOptions): Promise<ArchiveOutStream>;
    /**
     * The same, streamed as it is checked: the summary (what was left out) comes at the archive's end,
     * as a pax global header before the end marker (read it with `unpackWhole`), and as `summary`. An
     * export stopped part way ends the stream with an error and no end marker.
     */
    streamArchive(path: string, options?: ArchiveOutOptions): Promise<ArchiveOutStreaming>;
    /** The entry at `path` (a symlink as itself), or null when there is none. */
    stat(path: string): Promise<FileStat | null>;
    exists(path: string): Promise<boolean>;
    /** Creates the directory and its parents. Approved like a write; audited. */
    mkdir(path: string, options?: ChangeOptions): Promise<FileChangeResult>;
    /** Removes a file, a symlink (not its target) or a whole directory. Approved like a write; audited. */
    remove(path: string, options?: ChangeOptions): Promise<FileChangeResult>;
    rename(from: string, to: string, options?: ChangeOptions): Promise<FileChangeResult>;
    /** Writes every file after one approval (when one is needed); audited one by one. */
    writeMany(files: readonly ManyFile[], options?: ChangeOptions): Promise<FileChangeResult>;
  };
  /**
   * Files changed under /workspace since a tree was copied in, or `since` a snapshot of this session
   * (or the one it was made from); with `patch`, a unified diff too.
   */
  changes(options?: ChangesOptions): Promise<ChangesResult>;
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
  /**
   * The session now ends `expiresInMs` from now (longer or shorter than before), at most
   * `sessions.maxLifetime` after it was created (else INVALID_ARGUMENT). Recorded in the audit log.
   */
  extend(expiresInMs: number): Promise<SessionInfo>;
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
  /** As `Session.extend`, by id. */
  extend(id: string, expiresInMs: number): Promise<SessionInfo>;
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
  /** Commands in flight, oldest first; with `within`, only those of the sessions it names. */
  running(options?: { readonly within?: SessionScope }): RunResult[];
  /** Input for an interactive command (see `Session.commands.sendInput`). */
  sendInput: Router['sendInput'];
  resize: Router['resizeTerminal'];
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
    options?: {
      readonly signal?: AbortSignal;
      readonly within?: SessionScope;
      /** A terminal's reader: an unfinished line (a prompt, an echo) is released once output pauses. */
      readonly terminal?: boolean;
    },
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

interface ViewParts extends SessionInfoParts {
  readonly router: Router;
  /** Makes the engine of a session's chosen preset before the session exists. */
  readonly preparePolicy: (preset: PresetName | undefined) => Promise<void>;
  /** Refuses secret values that cannot be redacted safely, before a sandbox is made for them. */
  readonly checkSecrets: (secretEnv: Readonly<Record<string, string>> | undefined) => void;
  /** The egress side of a live network change (checked, enforced, audited); undefined without egress. */
  readonly updateNetwork: (session: LiveSession, network: SessionNetworkInput) => Promise<SessionNetwork>;
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
      list: () => router.listCommands({ within: session.id }),
      sendInput: (id, input) =>
        router.sendInput(
          id,
          {
            ...(input.data === undefined
              ? {}
              : { data: typeof input.data === 'string' ? Buffer.from(input.data, 'utf8') : input.data }),
            ...(input.end === undefined ? {} : { end: input.end }),
          },
          { within: session.id },
        ),
      resize: (id, size) => router.resizeTerminal(id, size, { within: session.id }),
      watch: (id, options) => router.watchCommand(id, { ...options, within: session.id }),
      check: async (command) => router.check(await live(), command),
    },
    files: {
      write: async (path, data, options) => router.writeFile(await live(), path, data, options),
      read: async (path, options) => router.readFile(await live(), path, options),
      list: async (path) => router.listFiles(await live(), path),
      putArchive: async (path, archive, options) => router.putArchive(await live(), path, archive, options),
      getArchive: async (path, options) => router.getArchive(await live(), path, options),
      openArchive: async (path, options) => router.openArchive(await live(), path, options),
      streamArchive: async (path, options) => router.streamArchive(await live(), path, options),
      stat: async (path) => router.fileChanges.stat(await live(), path),
      exists: async (path) => (await router.fileChanges.stat(await live(), path)) !== null,
      mkdir: async (path, options) => router.fileChanges.mkdir(await live(), path, options),
      remove: async (path, options) => router.fileChanges.remove(await live(), path, options),
      rename: async (from, to, options) => router.fileChanges.rename(await live(), from, to, options),
      writeMany: async (files, options) => router.fileChanges.writeMany(await live(), files, options),
    },
    changes: async (options) => router.changes(await live(), options),
    info: async () => infoOf(await manager.record(session.id), parts),
    setNetwork: (network) => setNetwork(parts, session.id, network),
    explain: async (command) => parts.policyFor(await live()).evaluate(command),
    stats: async () => (await live()).sandbox.stats(),
    snapshot: (name) => manager.snapshot(session.id, name ?? null),
    extend: async (expiresInMs) => {
      await manager.extend(session.id, expiresInMs);
      return infoOf(await manager.record(session.id), parts);
    },
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
    extend: async (id, expiresInMs) => {
      await manager.extend(id, expiresInMs);
      return infoOf(await manager.record(id), parts);
    },
  };
}

export function createAuditView(store: Store, verify: () => Promise<AuditReport>): AirlockAudit {
  return {
    list: (query) => store.listEvents(query),
    verify,
    exportJsonl: (write, query) => exportAuditJsonl(store, write, query),
  };
}
