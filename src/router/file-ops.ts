/**
 * Copying files in and out: the router's other entry besides commands, through the same stages.
 * A write may need a person (when `router.approvalRequiredFor` lists `write_file`), then happens in the
 * sandbox and is recorded (path, size and hash, never the content). A read is output like any other:
 * redacted before the caller gets it, and recorded with what was given. A listing is recorded too, its
 * names redacted. Paths are always inside the sandbox; the sandbox refuses any other.
 */
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import { awaitDecision, refusalReason } from './approve/index.ts';
import type { Approvals } from './approve/index.ts';
import { listInSandbox, readFromSandbox, refusePlantedLink, writeInSandbox } from './execute/index.ts';
import { recordFileEvent } from './record/index.ts';
import { redactBytes } from './shape/index.ts';
import type { Redactor } from './shape/index.ts';
import type { FileWriteResult } from './types.ts';

export interface FileOpsOptions {
  readonly store: Store;
  readonly approvals: Approvals;
  readonly needsApproval: boolean;
  readonly approvalTimeoutMs: number;
  readonly redactorFor: (session: LiveSession) => Redactor;
  readonly sessions: Pick<SessionManager, 'beginWork' | 'remember'>;
}

export interface FileWriteOptions {
  /**
   * When a person must approve: wait for the decision (the default) or return `pending_approval`
   * at once; the file is then written as soon as it is approved.
   */
  readonly waitForApproval?: boolean;
  readonly signal?: AbortSignal;
  /**
   * The host's own copy, made by the person who runs Airlock (a workspace brought in before a model
   * starts), not a model's write: `approvalRequiredFor: write_file` does not apply, and the audit
   * record says `operator`. Library callers only: no surface passes it on from a request.
   */
  readonly operator?: boolean;
}

export interface FileOps {
  write(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    options?: FileWriteOptions,
  ): Promise<FileWriteResult>;
  /** The file's bytes, redacted like any other output. */
  read(session: LiveSession, path: string, options?: { readonly maxBytes?: number }): Promise<Buffer>;
  /** The directory's entries, their names redacted. */
  list(session: LiveSession, path: string): Promise<FileEntry[]>;
  /** Waits for writes still waiting for a decision. */
  drain(): Promise<void>;
}

const WRITE_REASON = 'router.approvalRequiredFor lists write_file: a person approves every file write';

export function createFileOps(options: FileOpsOptions): FileOps {
  const { store, approvals, sessions } = options;
  const pending = new Set<Promise<unknown>>();
  const shown = (session: LiveSession, path: string): string =>
    options.redactorFor(session).redact(String(path)).text;

  async function writeNow(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    operator = false,
  ): Promise<void> {
    await writeInSandbox(sessions, session, path, data);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await recordFileEvent(store, session.id, {
      kind: 'written',
      path: shown(session, path),
      data: bytes,
      operator,
    });
  }

  /** The approve stage of a write, then the write; runs on after the caller stopped waiting. */
  async function approveAndWrite(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    waiting: FileWriteResult & { approvalId: string },
    signal: AbortSignal,
  ): Promise<FileWriteResult> {
    const outcome = await awaitDecision(approvals, waiting.approvalId, signal, 'write');
    if (!outcome.approved) {
      const why = refusalReason(outcome, 'write', options.approvalTimeoutMs);
      return { ...waiting, status: 'denied', forModel: `not written: ${why}.` };
    }
    if (outcome.record.remember) sessions.remember(session, [`write_file ${path}`]);
    await writeNow(session, path, data);
    return completedWrite(waiting.path, waiting.bytes, waiting.approvalId);
  }

  async function write(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    writeOptions: FileWriteOptions = {},
  ): Promise<FileWriteResult> {
    // A path the sandbox would refuse is refused before a person is asked to approve it.
    const target = resolveSandboxPath(path);
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const shownPath = shown(session, path);
    const operator = writeOptions.operator === true;
    if (!options.needsApproval || operator || session.remembered.has(`write_file ${path}`)) {
      await writeNow(session, path, data, operator);
      return completedWrite(shownPath, bytes, null);
    }
    await refusePlantedLink(session, target);
    const approval = await approvals.request({
      sessionId: session.id,
      commandId: null,
      action: 'write_file',
      subject: `write ${bytes} bytes to ${shownPath}`,
      parsed: [shownPath],
      reasons: [WRITE_REASON],
      timeoutMs: options.approvalTimeoutMs,
    });
    const waiting = {
      status: 'pending_approval' as const,
      path: shownPath,
      bytes,
      approvalId: approval.id,
      reasons: [WRITE_REASON],
      forModel: `not written yet: a person must approve writing ${shownPath} (approval ${approval.id}); it is written as soon as they do.`,
    };
    const signal = AbortSignal.any([
      session.ending.signal,
      ...(writeOptions.signal ? [writeOptions.signal] : []),
    ]);
    const outcome = approveAndWrite(session, path, data, waiting, signal);
    if (writeOptions.waitForApproval !== false) return outcome;
    // Returned before the decision: the write goes on in the background and must not be lost, nor
    // fail unobserved (a session that ended meanwhile simply means nothing is written).
    const tracked = outcome.catch(() => undefined).finally(() => pending.delete(tracked));
    pending.add(tracked);
    return waiting;
  }

  async function read(
    session: LiveSession,
    path: string,
    readOptions: { readonly maxBytes?: number } = {},
  ): Promise<Buffer> {
    const raw = await readFromSandbox(sessions, session, path, readOptions);
    // A file is output too: an agent could write a secret into one and read it back.
    const { data } = redactBytes(options.redactorFor(session), raw);
    await recordFileEvent(store, session.id, { kind: 'read', path: shown(session, path), data });
    return data;
  }

  async function list(session: LiveSession, path: string): Promise<FileEntry[]> {
    const entries = await listInSandbox(sessions, session, path);
    const redactor = options.redactorFor(session);
    // Names are chosen inside the sandbox: an agent could name a file after a secret.
    const named = entries.map((entry) => ({ ...entry, name: redactor.redact(entry.name).text }));
    await recordFileEvent(store, session.id, {
      kind: 'listed',
      path: shown(session, path),
      entries: named.length,
    });
    return named;
  }

  return {
    write,
    read,
    list,
    drain: async () => {
      await Promise.allSettled([...pending]);
    },
  };
}

function completedWrite(path: string, bytes: number, approvalId: string | null): FileWriteResult {
  return {
    status: 'completed',
    path,
    bytes,
    approvalId,
    reasons: [],
    forModel: `wrote ${bytes} bytes to ${path}`,
  };
}
