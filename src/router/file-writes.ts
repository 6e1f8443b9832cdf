/**
 * Copying a file into a session: the router's other entry besides commands. When
 * `approvalRequiredFor` lists `write_file`, a person approves each write first; every write that
 * happens is recorded (path, size and hash, never the content).
 */
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import type { Approvals } from './approvals.ts';
import type { Redactor } from './redact.ts';
import type { FileWriteResult } from './types.ts';

export interface FileWriterOptions {
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
}

export interface FileWriter {
  write(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    options?: FileWriteOptions,
  ): Promise<FileWriteResult>;
  /** Waits for writes still waiting for a decision. */
  drain(): Promise<void>;
}

/**
 * A symlink the agent planted (`ln -s /etc /workspace/etc`) is only visible inside the sandbox, and the
 * write refuses it there. Looking first means a person is never asked to approve a harmless-looking
 * `etc/hosts` that could not be written anyway. This is for the person, not the boundary: the write
 * itself resolves the path again without following links.
 */
async function refusePlantedLink(session: LiveSession, target: string): Promise<void> {
  const parent = posix.dirname(target);
  let entries: FileEntry[];
  try {
    entries = await session.sandbox.listFiles(parent);
  } catch (error) {
    // A missing directory is created by the write (or fails it); only a link on the way is refused.
    if (isAirlockError(error) && error.code === 'PATH_OUTSIDE_SANDBOX') throw error;
    return;
  }
  const leaf = posix.basename(target);
  if (entries.some((entry) => entry.name === leaf && entry.kind === 'symlink')) {
    throw new AirlockError(
      'PATH_OUTSIDE_SANDBOX',
      `${target} is a symbolic link; files are written only through real paths`,
      {
        path: target,
      },
    );
  }
}

export function createFileWriter(options: FileWriterOptions): FileWriter {
  const { store, approvals } = options;
  const pending = new Set<Promise<unknown>>();

  async function writeNow(session: LiveSession, path: string, data: string | Uint8Array, shownPath: string) {
    const done = options.sessions.beginWork(session);
    try {
      await session.sandbox.writeFile(path, data, { createParents: true });
    } finally {
      done();
    }
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await store.commit({
      events: [
        {
          type: 'file.written',
          sessionId: session.id,
          commandId: null,
          data: {
            path: shownPath,
            bytes: bytes.length,
            sha256: createHash('sha256').update(bytes).digest('hex'),
          },
        },
      ],
    });
  }

  async function write(
    session: LiveSession,
    path: string,
    data: string | Uint8Array,
    writeOptions: FileWriteOptions = {},
  ): Promise<FileWriteResult> {
    // A path the sandbox would refuse is refused before a person is asked to approve it.
    resolveSandboxPath(path);
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    const shownPath = options.redactorFor(session).redact(String(path)).text;
    const rememberKey = `write_file ${path}`;
    const completed: FileWriteResult = {
      status: 'completed',
      path: shownPath,
      bytes,
      approvalId: null,
      reasons: [],
      forModel: `wrote ${bytes} bytes to ${shownPath}`,
    };
    if (!options.needsApproval || session.remembered.has(rememberKey)) {
      await writeNow(session, path, data, shownPath);
      return completed;
    }

    await refusePlantedLink(session, resolveSandboxPath(path));
    const reasons = ['router.approvalRequiredFor lists write_file: a person approves every file write'];
    const approval = await approvals.request({
      sessionId: session.id,
      commandId: null,
      action: 'write_file',
      subject: `write ${bytes} bytes to ${shownPath}`,
      parsed: [shownPath],
      reasons,
      timeoutMs: options.approvalTimeoutMs,
    });
    const waiting: FileWriteResult = {
      status: 'pending_approval',
      path: shownPath,
      bytes,
      approvalId: approval.id,
      reasons,
      forModel: `not written yet: a person must approve writing ${shownPath} (approval ${approval.id}); it is written as soon as they do.`,
    };
    const decideAndWrite = async (): Promise<FileWriteResult> => {
      const signal = AbortSignal.any([
        session.ending.signal,
        ...(writeOptions.signal ? [writeOptions.signal] : []),
      ]);
      const decided = await approvals.waitOrWithdraw(
        approval.id,
        signal,
        'the write was cancelled before anyone decided',
      );
      if (decided === null || decided.status !== 'approved') {
        const why =
          decided === null
            ? 'the write was cancelled while waiting for approval'
            : decided.status === 'expired'
              ? 'no one approved it in time'
              : `a person denied it${decided.decisionReason ? `: ${decided.decisionReason}` : ''}`;
        return { ...waiting, status: 'denied', forModel: `not written: ${why}.` };
      }
      if (decided.remember) options.sessions.remember(session, [rememberKey]);
      await writeNow(session, path, data, shownPath);
      return { ...completed, approvalId: approval.id };
    };
    const outcome = decideAndWrite();
    if (writeOptions.waitForApproval !== false) return outcome;
    // Returned before the decision: the write goes on in the background and must not be lost, nor
    // fail unobserved (a session that ended meanwhile simply means nothing is written).
    const tracked = outcome.catch(() => undefined).finally(() => pending.delete(tracked));
    pending.add(tracked);
    return waiting;
  }

  return {
    write,
    drain: async () => {
      await Promise.allSettled([...pending]);
    },
  };
}
