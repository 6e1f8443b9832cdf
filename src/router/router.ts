/**
 * The router: every surface's way into the pipeline. Commands go decide → approve → rate → execute →
 * shape → record (command-pipeline.ts); file copies take the same stages (file-ops.ts); what is under
 * way or done is found again through one registry with one session-scope check.
 */
import type { Logger } from 'pino';
import type { AirlockMetrics } from '../metrics/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { OutputPage, Store } from '../store/index.ts';
import type { Approvals } from './approve/index.ts';
import { createCommandRegistry } from './command-registry.ts';
import type { ScopedOptions } from './command-registry.ts';
import { runCommand } from './command-pipeline.ts';
import type { ApprovalGate } from './decide/index.ts';
import { createFileOps } from './file-ops.ts';
import type { FileWriteOptions } from './file-ops.ts';
import type { RateLimiter } from './rate/index.ts';
import type { CommandEvent, Redactor } from './shape/index.ts';
import type { FileWriteResult, RunOptions, RunResult } from './types.ts';

export interface RouterOptions {
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly approvals: Approvals;
  /** The policy engine judging a session's commands. */
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  /** `router.approvalRequiredFor` commands (`createApprovalGate`); null when it lists none. */
  readonly approvalGate: ApprovalGate | null;
  readonly writeFileNeedsApproval: boolean;
  readonly approvalTimeoutMs: number;
  readonly rateLimiter: RateLimiter;
  readonly maxChars: number;
  readonly redactorFor: (session: LiveSession) => Redactor;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  readonly now?: () => number;
}

export interface Router {
  run(session: LiveSession, command: string, options?: RunOptions): Promise<RunResult>;
  /** The latest known state of a command (live for running ones). */
  getCommand(id: string, options?: ScopedOptions): Promise<RunResult>;
  /** Resolves when the command has finished (or at once if it has). */
  waitCommand(id: string, options?: ScopedOptions & { readonly signal?: AbortSignal }): Promise<RunResult>;
  killCommand(id: string, options?: ScopedOptions): Promise<RunResult>;
  /**
   * A command's events as they happen. A running background command: the output in its live window,
   * then each new piece (whole lines, redacted), then one `status` event with the final result (what
   * `waitCommand` returns), and the iteration ends. A command waiting for approval: nothing until it
   * runs or ends. One that has ended (or that runs in the foreground): only the `status` event. An
   * unknown id rejects the first `next()` with NOT_FOUND, a ninth watcher of one command with
   * LIMIT_REACHED; aborting `signal` ends the iteration quietly.
   */
  watchCommand(
    id: string,
    options?: ScopedOptions & { readonly signal?: AbortSignal },
  ): AsyncIterable<CommandEvent>;
  readOutput(
    id: string,
    page?: ScopedOptions & {
      readonly stream?: 'stdout' | 'stderr';
      readonly offset?: number;
      readonly limit?: number;
    },
  ): Promise<OutputPage>;
  writeFile(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    options?: FileWriteOptions,
  ): Promise<FileWriteResult>;
  /** The file's bytes, redacted like any other output; recorded in the audit log. */
  readFile(session: LiveSession, path: string, options?: { readonly maxBytes?: number }): Promise<Buffer>;
  /** A directory's entries (names redacted); recorded in the audit log. */
  listFiles(session: LiveSession, path: string): Promise<FileEntry[]>;
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
    needsApproval: options.writeFileNeedsApproval,
    approvalTimeoutMs: options.approvalTimeoutMs,
    redactorFor: options.redactorFor,
    sessions: options.sessions,
  });
  return {
    run: (session, command, runOptions) => runCommand(pipeline, session, command, runOptions),
    getCommand: registry.get,
    waitCommand: registry.wait,
    killCommand: registry.kill,
    watchCommand: registry.watch,
    readOutput: registry.readOutput,
    writeFile: files.write,
    readFile: files.read,
    listFiles: files.list,
    drain: async () => {
      await registry.drain();
      await files.drain();
    },
  };
}
