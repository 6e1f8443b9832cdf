/**
 * The rest of the files API beside write/read/list: stat, mkdir, remove, rename and writing many files
 * at once. Each change goes through the same stages as a write: a person approves it when
 * `router.approvalRequiredFor` lists `write_file`, it happens inside the sandbox, and it is recorded
 * (paths redacted). Paths are checked like a write's (inside /workspace or /tmp, no `..`); mkdir,
 * remove and rename run the sandbox's own tools as one argv each, inside the sandbox, so a symlink the
 * agent planted is resolved there and never on the host.
 */
import { AirlockError } from '../errors/index.ts';
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import { approveChange } from './change-approval.ts';
import type { ChangeApprovalDeps } from './change-approval.ts';
import { writeInSandbox } from './execute/index.ts';
import { recordFileEvent } from './record/index.ts';
import { registerSecretFile } from './write-judgement.ts';
import { statInSandbox } from './file-stat.ts';

export interface FileChangesOptions extends ChangeApprovalDeps {
  readonly store: Store;
  readonly sessions: Pick<SessionManager, 'beginWork' | 'addSecretFile'>;
}

/** What a change came to: done, or refused by a person (with why). */
export interface FileChangeResult {
  readonly status: 'completed' | 'denied';
  readonly paths: readonly string[];
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
}

export interface FileStat extends FileEntry {
  /** The path as given, resolved inside the sandbox. */
  readonly path: string;
}

export interface ManyFile {
  readonly path: string;
  readonly data: string | Uint8Array;
}

export interface FileChanges {
  /** The entry at `path` (a symlink is reported as one, not followed), or null when there is none. */
  stat(session: LiveSession, path: string): Promise<FileStat | null>;
  mkdir(session: LiveSession, path: string, options?: ChangeOptions): Promise<FileChangeResult>;
  /** Removes a file, a symlink (not what it points to) or a directory with everything in it. */
  remove(session: LiveSession, path: string, options?: ChangeOptions): Promise<FileChangeResult>;
  /** Renames within the sandbox's writable areas; an existing target is replaced (not a non-empty directory). */
  rename(session: LiveSession, from: string, to: string, options?: ChangeOptions): Promise<FileChangeResult>;
  /** Writes every file, after one approval for all of them when one is needed. */
  writeMany(
    session: LiveSession,
    files: readonly ManyFile[],
    options?: ChangeOptions,
  ): Promise<FileChangeResult>;
}

export interface ChangeOptions {
  readonly signal?: AbortSignal;
}

/** Most files one writeMany takes: more is an archive's job (PUT …/archive). */
export const MAX_WRITE_MANY_FILES = 1000;
const CHANGE_TIMEOUT_MS = 60_000;

const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

/** Runs a fixed command inside the sandbox; its failure is the caller's error, named by `what`. */
async function inSandbox(
  options: FileChangesOptions,
  session: LiveSession,
  script: string,
  what: string,
  path: string,
): Promise<void> {
  const shown = (text: string): string => options.redactorFor(session).redact(text).text;
  const done = options.sessions.beginWork(session);
  try {
    const result = await session.sandbox.exec(script, {
      timeoutMs: CHANGE_TIMEOUT_MS,
      signal: session.ending.signal,
    });
    if (result.exitCode === 0) return;
    const detail = options.redactorFor(session).redact(result.stderr.trim().split('\n').at(-1) ?? '').text;
    const missing = /No such file/i.test(detail);
    throw new AirlockError(
      missing ? 'NOT_FOUND' : 'INVALID_ARGUMENT',
      `could not ${what} ${shown(path)}: ${detail.slice(0, 300) || `exit ${result.exitCode ?? 'by signal'}`}`,
      { path: shown(path) },
    );
  } finally {
    done();
  }
}

export function createFileChanges(options: FileChangesOptions): FileChanges {
  const { store, sessions } = options;
  const shown = (session: LiveSession, path: string): string =>
    options.redactorFor(session).redact(path).text;

  /** The decide and approve stages; a result when refused, else the approval's id (null when none was needed). */
  async function approved(
    session: LiveSession,
    subject: string,
    targets: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<FileChangeResult | { readonly approvalId: string | null }> {
    const verdict = await approveChange(options, session, { subject, targets, signal });
    if (verdict.status === 'allowed') return { approvalId: null };
    if (verdict.status === 'approved') return { approvalId: verdict.approvalId };
    return {
      status: 'denied',
      paths: targets.map((target) => shown(session, target)),
      approvalId: verdict.approvalId,
      reasons: verdict.reasons,
    };
  }

  async function record(
    session: LiveSession,
    type: 'file.removed' | 'file.renamed' | 'file.dir_created',
    data: Record<string, string>,
  ): Promise<void> {
    const redacted = Object.fromEntries(
      Object.entries(data).map(([key, value]) => [key, shown(session, value)]),
    );
    await store.commit({ events: [{ type, sessionId: session.id, commandId: null, data: redacted }] });
  }

  async function mkdir(
    session: LiveSession,
    path: string,
    change: ChangeOptions = {},
  ): Promise<FileChangeResult> {
    const target = resolveSandboxPath(path);
    const refused = await approved(session, `create directory ${target}`, [target], change.signal);
    if ('status' in refused) return refused;
    await inSandbox(options, session, `mkdir -p -- ${quoted(target)}`, 'create directory', target);
    await record(session, 'file.dir_created', { path: target });
    return {
      status: 'completed',
      paths: [shown(session, target)],
      approvalId: refused.approvalId,
      reasons: [],
    };
  }

  async function remove(
    session: LiveSession,
    path: string,
    change: ChangeOptions = {},
  ): Promise<FileChangeResult> {
    // resolveSandboxPath refuses /workspace and /tmp themselves: removing a whole area is a command's job.
    const target = resolveSandboxPath(path);
    const refused = await approved(session, `remove ${target}`, [target], change.signal);
    if ('status' in refused) return refused;
    await inSandbox(
      options,
      session,
      `test -e ${quoted(target)} || test -L ${quoted(target)} || { echo 'No such file' >&2; exit 1; }; rm -rf -- ${quoted(target)}`,
      'remove',
      target,
    );
    await record(session, 'file.removed', { path: target });
    return {
      status: 'completed',
      paths: [shown(session, target)],
      approvalId: refused.approvalId,
      reasons: [],
    };
  }

  async function rename(
    session: LiveSession,
    from: string,
    to: string,
    change: ChangeOptions = {},
  ): Promise<FileChangeResult> {
    const source = resolveSandboxPath(from);
    const target = resolveSandboxPath(to);
    const paths = [shown(session, source), shown(session, target)];
    const refused = await approved(session, `rename ${source} to ${target}`, [source, target], change.signal);
    if ('status' in refused) return refused;
    await inSandbox(options, session, `mv -T -- ${quoted(source)} ${quoted(target)}`, 'rename', source);
    await record(session, 'file.renamed', { from: source, to: target });
    return { status: 'completed', paths, approvalId: refused.approvalId, reasons: [] };
  }

  async function writeMany(
    session: LiveSession,
    files: readonly ManyFile[],
    change: ChangeOptions = {},
  ): Promise<FileChangeResult> {
    if (files.length === 0 || files.length > MAX_WRITE_MANY_FILES) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `give 1 to ${MAX_WRITE_MANY_FILES} files to write; for more, copy an archive in`,
        {
          field: 'files',
          count: files.length,
        },
      );
    }
    // Every path is checked before a person is asked, and before the first write.
    const targets = files.map((file) => resolveSandboxPath(file.path));
    const paths = targets.map((target) => shown(session, target));
    const bytes = files.reduce(
      (sum, file) => sum + (typeof file.data === 'string' ? Buffer.byteLength(file.data) : file.data.length),
      0,
    );
    const refused = await approved(
      session,
      `write ${files.length} files (${bytes} bytes): ${targets.slice(0, 5).join(', ')}${targets.length > 5 ? ', …' : ''}`,
      targets,
      change.signal,
    );
    if ('status' in refused) return refused;
    for (const [index, file] of files.entries()) {
      const target = targets[index] ?? '';
      const data = typeof file.data === 'string' ? Buffer.from(file.data) : file.data;
      // Registered before the write, as for a single file: no output may show a secret file's values.
      registerSecretFile(sessions, session, target, data);
      await writeInSandbox(sessions, session, target, file.data);
      await recordFileEvent(store, session.id, { kind: 'written', path: paths[index] ?? '', data });
    }
    return { status: 'completed', paths, approvalId: refused.approvalId, reasons: [] };
  }

  return {
    stat: (session, path) => statInSandbox(options, session, path),
    mkdir,
    remove,
    rename,
    writeMany,
  };
}
