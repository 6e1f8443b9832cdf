/**
 * Copying files in and out: the router's other entry besides commands, through the same stages.
 * A write is judged by the session's policy with the same path rules as a shell redirection (a
 * heredoc and `write_file` get one answer), may need a person (that policy, or
 * `router.approvalRequiredFor` listing `write_file`), then happens in the sandbox and is recorded
 * (path, size and hash, never the content). A secret file written (the policy's list) has its values
 * redacted from every output from then on. A read is output like any other: redacted before the
 * caller gets it, and recorded with what was given. A listing is recorded too, its names redacted.
 * Paths are always inside the sandbox; the sandbox refuses any other.
 */
import type { PolicyEngine } from '../policy/index.ts';
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import { awaitDecision, newApprovalId, refusalReason, requestApproval } from './approve/index.ts';
import type { Approvals, ReviewedRequestInput, Reviewer } from './approve/index.ts';
import { listInSandbox, readFromSandbox, refusePlantedLink, writeInSandbox } from './execute/index.ts';
import { recordFileEvent } from './record/index.ts';
import { redactBytes } from './shape/index.ts';
import type { Redactor } from './shape/index.ts';
import { approvalWaitOf } from './run-input.ts';
import type { FileWriteResult } from './types.ts';
import { judgeWrite, registerSecretFile } from './write-judgement.ts';

export interface FileOpsOptions {
  readonly store: Store;
  readonly approvals: Approvals;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  readonly approvalTimeoutMs: number;
  /** `router.approvalWait`: how long a write waits for a person unless its caller says otherwise. */
  readonly approvalWaitMs: number;
  readonly reviewer: Reviewer | null;
  readonly redactorFor: (session: LiveSession) => Redactor;
  readonly sessions: Pick<SessionManager, 'beginWork' | 'remember' | 'addSecretFile'>;
}

export interface FileWriteOptions {
  /**
   * When a person must approve: how long to wait for the decision before returning
   * `pending_approval` (the file is then written as soon as it is approved). Default
   * `router.approvalWait`, at most the approval timeout.
   */
  readonly approvalWaitMs?: number;
  /** `false`: return `pending_approval` at once; `true`: wait up to the approval timeout. */
  readonly waitForApproval?: boolean;
  readonly signal?: AbortSignal;
  /**
   * The host's own copy, made by the person who runs Airlock (a workspace brought in before a model
   * starts), not a model's write: neither the path rules nor `approvalRequiredFor: write_file` apply,
   * and the audit record says `operator`. Library callers only: no surface passes it on from a request.
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
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    // Registered before the write: from the moment the file exists, no output may show its values.
    registerSecretFile(sessions, session, resolveSandboxPath(path), bytes);
    await writeInSandbox(sessions, session, path, data);
    await recordFileEvent(store, session.id, {
      kind: 'written',
      path: shown(session, path),
      data: bytes,
      operator,
    });
  }

  /** The approve stage of a write (reviewer, then a person), then the write; runs on after the caller stopped waiting. */
  async function approveAndWrite(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    request: ReviewedRequestInput,
    waiting: FileWriteResult & { approvalId: string },
    signal: AbortSignal,
    recorded: () => void,
  ): Promise<FileWriteResult> {
    await requestApproval({ approvals, reviewer: options.reviewer }, request, signal);
    recorded();
    const outcome = await awaitDecision(approvals, waiting.approvalId, signal, 'write');
    if (!outcome.approved) {
      const why = refusalReason(outcome, 'write', options.approvalTimeoutMs);
      return { ...waiting, status: 'denied', forModel: `not written: ${why}.` };
    }
    if (outcome.record.scope === 'command') sessions.remember(session, [rememberKey(path)]);
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
    // The person running Airlock copying their own workspace in is not a model's write: nothing to
    // judge or approve (a secret file among it still has its values registered for redaction).
    if (writeOptions.operator === true) {
      await writeNow(session, path, data, true);
      return completedWrite(shownPath, bytes, null);
    }
    const judged = judgeWrite(options.policyFor(session), session, target);
    const reasons = judged.reasons.map((reason) => shown(session, reason));
    if (judged.value === 'deny') {
      await recordFileEvent(store, session.id, {
        kind: 'refused',
        path: shownPath,
        bytes,
        ruleIds: judged.ruleIds,
        reasons,
      });
      return deniedWrite(shownPath, bytes, judged.ruleIds, reasons);
    }
    if (judged.value === 'allow' || session.remembered.has(rememberKey(path))) {
      await writeNow(session, path, data);
      return completedWrite(shownPath, bytes, null);
    }
    await refusePlantedLink(session, target);
    const waitMs = approvalWaitOf(writeOptions, options);
    const { request, waiting } = writeApproval(session, shownPath, bytes, judged.ruleIds, reasons, options);
    const signal = AbortSignal.any([
      session.ending.signal,
      ...(writeOptions.signal ? [writeOptions.signal] : []),
    ]);
    let recorded = (): void => undefined;
    const requested = new Promise<null>((resolve) => {
      recorded = () => resolve(null);
    });
    const outcome = approveAndWrite(session, path, data, request, waiting, signal, recorded);
    // The caller is told the approval's id only once the store holds it (after the reviewer, if any,
    // had its say), as for a command: a person acting on it at once must find it, not NOT_FOUND.
    const settledFirst = await Promise.race([outcome, requested]);
    if (settledFirst !== null) return settledFirst;
    const answer = await settledWithin(outcome, waitMs);
    if (answer !== null) return answer;
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

/** The request a person is asked to approve for a write, and what the caller is told meanwhile. */
function writeApproval(
  session: LiveSession,
  shownPath: string,
  bytes: number,
  ruleIds: readonly string[],
  reasons: readonly string[],
  options: Pick<FileOpsOptions, 'approvalTimeoutMs'>,
): { request: ReviewedRequestInput; waiting: FileWriteResult & { approvalId: string } } {
  const approvalId = newApprovalId();
  const request: ReviewedRequestInput = {
    id: approvalId,
    sessionId: session.id,
    commandId: null,
    action: 'write_file',
    subject: `write ${bytes} bytes to ${shownPath}`,
    parsed: [shownPath],
    reasons: [...reasons],
    ruleIds: [...ruleIds],
    grants: [{ scope: 'command', covers: [`write_file ${shownPath}`] }],
    timeoutMs: options.approvalTimeoutMs,
    capabilities: session.capabilities,
  };
  const waiting = {
    status: 'pending_approval' as const,
    path: shownPath,
    bytes,
    approvalId,
    reasons: [...reasons],
    forModel: `not written yet: a person must approve writing ${shownPath} (approval ${approvalId}); it is written by itself as soon as they do.${reasons.map((reason) => `\n- ${reason}`).join('')}`,
  };
  return { request, waiting };
}

/** The promise's value if it settles within `ms`, else null (it goes on). A rejection within `ms` rejects. */
function settledWithin<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  if (ms === 0) return Promise.resolve(null);
  if (ms === Number.POSITIVE_INFINITY) return promise;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** What "approved for this session" remembers of a write: its path, as the sandbox resolves it. */
function rememberKey(path: string): string {
  return `write_file ${resolveSandboxPath(path)}`;
}

function deniedWrite(
  path: string,
  bytes: number,
  ruleIds: readonly string[],
  reasons: readonly string[],
): FileWriteResult {
  const rules = ruleIds.length > 0 ? ` (rule ${ruleIds.join(', ')})` : '';
  return {
    status: 'denied',
    path,
    bytes,
    approvalId: null,
    reasons,
    forModel: `not written: denied${rules}.${reasons.map((reason) => `\n- ${reason}`).join('')}`,
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
