/**
 * The router: every surface's way into the pipeline. Commands go decide → approve → rate → execute →
 * shape → record (command-pipeline.ts); file copies take the same stages (file-ops.ts); what is under
 * way or done is found again through one registry with one session-scope check.
 */
import type { LiveSession, SnapshotStore } from '../sessions/index.ts';
import { createCommandRegistry } from './command-registry.ts';
import type { CommandRegistry } from './command-registry.ts';
import { runCommand } from './command-pipeline.ts';
import type { PipelineDeps } from './pipeline-deps.ts';
import { createArchiveOps, DEFAULT_ARCHIVE_LIMITS } from './archive/index.ts';
import type { ArchiveLimits, ArchiveOps } from './archive/index.ts';
import { createFileChanges } from './file-changes.ts';
import type { FileChanges } from './file-changes.ts';
import { createFileOps } from './file-ops.ts';
import type { FileOps } from './file-ops.ts';
import { checkCommand } from './check.ts';
import type { CheckResult, RunOptions, RunResult } from './types.ts';

export interface RouterOptions extends Omit<PipelineDeps, 'registry' | 'now'> {
  readonly now?: () => number;
  /** Bounds on trees copied in and out (`router.archive`). */
  readonly archiveLimits?: ArchiveLimits;
  /** `sandbox.refuseSecretsInWorkspace`. */
  readonly refuseSecretsInWorkspace?: boolean;
  /** Snapshot archives, for changes since a snapshot. */
  readonly snapshots?: Pick<SnapshotStore, 'get' | 'read'>;
}

export interface Router {
  run(session: LiveSession, command: string, options?: RunOptions): Promise<RunResult>;
  /** A dry run: what `run` would decide now. Nothing runs, nobody is asked; the check is audited. */
  check(session: LiveSession, command: string): Promise<CheckResult>;
  /** The latest known state of a command (live for running ones). */
  readonly getCommand: CommandRegistry['get'];
  /** Resolves when the command has finished (or at once if it has). */
  readonly waitCommand: CommandRegistry['wait'];
  readonly killCommand: CommandRegistry['kill'];
  /** Commands in flight, oldest first (a session's own with `within`). */
  readonly listCommands: CommandRegistry['list'];
  /** Input for an interactive command (recorded, redacted); resolves with the bytes it took. */
  readonly sendInput: CommandRegistry['sendInput'];
  readonly resizeTerminal: CommandRegistry['resize'];
  /**
   * A command's events as they happen. A running background command: the output in its live window,
   * then each new piece (whole lines, redacted), then one `status` event with the final result (what
   * `waitCommand` returns), and the iteration ends. A command waiting for approval: nothing until it
   * runs or ends. One that has ended (or that runs in the foreground): only the `status` event. An
   * unknown id rejects the first `next()` with NOT_FOUND, a ninth watcher of one command with
   * LIMIT_REACHED; aborting `signal` ends the iteration quietly.
   */
  readonly watchCommand: CommandRegistry['watch'];
  readonly readOutput: CommandRegistry['readOutput'];
  readonly writeFile: FileOps['write'];
  /** The file's bytes, redacted like any other output; recorded in the audit log. */
  readonly readFile: FileOps['read'];
  /** A directory's entries (names redacted); recorded in the audit log. */
  readonly listFiles: FileOps['list'];
  /** A tar archive unpacked into the sandbox, checked whole first; audited. */
  readonly putArchive: ArchiveOps['put'];
  /** A directory of the sandbox as a tar archive, through the export checks; audited. */
  readonly getArchive: ArchiveOps['get'];
  /** The same, spooled and streamed (the HTTP download). */
  readonly openArchive: ArchiveOps['open'];
  /** The same, streamed as it is checked, its summary at the end. */
  readonly streamArchive: ArchiveOps['stream'];
  /** Files changed under /workspace since the copy in, optionally as a patch. */
  readonly changes: ArchiveOps['changes'];
  /** stat, mkdir, remove, rename and writeMany: approved like writes, done in the sandbox, audited. */
  readonly fileChanges: FileChanges;
  /** Waits for commands in flight (their sessions are being ended, which kills them). */
  drain(): Promise<void>;
}

export function createRouter(options: RouterOptions): Router {
  const now = options.now ?? Date.now;
  const registry = createCommandRegistry({ store: options.store, maxChars: options.maxChars });
  const pipeline = { ...options, registry, now };
  const files = createFileOps({
    store: options.store,
    approvals: options.approvals,
    policyFor: options.policyFor,
    reviewer: options.reviewer,
    approvalWaitMs: options.approvalWaitMs,
    approvalTimeoutMs: options.approvalTimeoutMs,
    redactorFor: options.redactorFor,
    sessions: options.sessions,
  });
  const fileChanges = createFileChanges({
    store: options.store,
    approvals: options.approvals,
    reviewer: options.reviewer,
    policyFor: options.policyFor,
    approvalTimeoutMs: options.approvalTimeoutMs,
    redactorFor: options.redactorFor,
    sessions: options.sessions,
  });
  const archives = createArchiveOps({
    store: options.store,
    approvals: options.approvals,
    reviewer: options.reviewer,
    approvalTimeoutMs: options.approvalTimeoutMs,
    limits: options.archiveLimits ?? DEFAULT_ARCHIVE_LIMITS,
    refuseSecrets: options.refuseSecretsInWorkspace ?? false,
    redactorFor: options.redactorFor,
    policyFor: options.policyFor,
    sessions: options.sessions,
    ...(options.snapshots === undefined ? {} : { snapshots: options.snapshots }),
  });
  return {
    run: (session, command, runOptions) => runCommand(pipeline, session, command, runOptions),
    check: (session, command) => checkCommand(options, session, command),
    getCommand: registry.get,
    waitCommand: registry.wait,
    killCommand: registry.kill,
    listCommands: registry.list,
    sendInput: registry.sendInput,
    resizeTerminal: registry.resize,
    watchCommand: registry.watch,
    readOutput: registry.readOutput,
    writeFile: files.write,
    readFile: files.read,
    listFiles: files.list,
    putArchive: archives.put,
    getArchive: archives.get,
    openArchive: archives.open,
    streamArchive: archives.stream,
    changes: archives.changes,
    fileChanges,
    drain: async () => {
      await registry.drain();
      await files.drain();
    },
  };
}
