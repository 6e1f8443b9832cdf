/**
 * Trees in and out of a session, through the same stages as single files: a copy in may need a
 * person (when `router.approvalRequiredFor` lists `write_file`), is checked whole before anything is
 * written (incoming.ts), unpacked inside the sandbox and recorded; a copy out passes the export checks
 * (outgoing.ts), has each file redacted like any other output and is recorded with what was given.
 */
import { createHash } from 'node:crypto';
import { pack } from 'tar-stream';
import { isSecretPath, loadPolicy } from '../../policy/index.ts';
import { resolveSandboxPath } from '../../sandbox/index.ts';
import type { LiveSession, SessionManager } from '../../sessions/index.ts';
import type { Store } from '../../store/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { approveChange } from '../change-approval.ts';
import type { ChangeApprovalDeps } from '../change-approval.ts';
import { registerSecretFile } from '../write-judgement.ts';
import { redactBytes } from '../shape/index.ts';
import { emptyBaseline, remember } from './baseline.ts';
import type { Baseline } from './baseline.ts';
import type { WorkspaceChanges } from './changes.ts';
import { checkIncomingArchive } from './incoming.ts';
import type { ArchiveLimits } from './limits.ts';
import { createExportReader } from './outgoing.ts';
import type { LeftOut, OutgoingEntry } from './outgoing.ts';
import { listChanges } from './list-changes.ts';
import { protectedPathJudge } from './protected-paths.ts';
import { underWorkspace } from './workspace-path.ts';
import { packInSandbox, unpackInSandbox } from './sandbox-tar.ts';

export interface ArchiveOpsOptions extends ChangeApprovalDeps {
  readonly store: Store;
  readonly limits: ArchiveLimits;
  /** `sandbox.refuseSecretsInWorkspace`: an archive holding a secret-looking file is refused whole. */
  readonly refuseSecrets: boolean;
  readonly sessions: Pick<SessionManager, 'beginWork' | 'addSecretFile'>;
}

export interface ArchiveInOptions {
  readonly signal?: AbortSignal;
  /** The host's own copy (see FileWriteOptions.operator); library callers only. */
  readonly operator?: boolean;
}

export interface ArchiveInResult {
  readonly status: 'completed' | 'denied';
  readonly path: string;
  readonly files: number;
  readonly directories: number;
  readonly bytes: number;
  /** Files that look like secrets (.env, keys, credentials): their values are redacted from now on. */
  readonly secretFiles: readonly string[];
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
}

export interface ArchiveOutResult {
  /** An uncompressed tar of what passed the export checks. */
  readonly tar: Buffer;
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
}

export interface ChangesResult extends WorkspaceChanges {
  /** Whether a tree was copied in: without one, every file counts as added. */
  readonly baseline: boolean;
  /** The unified diff, when asked for. */
  readonly patch?: string;
}

export interface ArchiveOps {
  put(session: LiveSession, path: string, body: Buffer, options?: ArchiveInOptions): Promise<ArchiveInResult>;
  get(session: LiveSession, path: string): Promise<ArchiveOutResult>;
  changes(session: LiveSession, options?: { readonly patch?: boolean }): Promise<ChangesResult>;
}

const join = (dir: string, rel: string): string => (dir === '' ? rel : rel === '' ? dir : `${dir}/${rel}`);

export function createArchiveOps(options: ArchiveOpsOptions): ArchiveOps {
  const { store, limits } = options;
  const baselines = new WeakMap<LiveSession, Baseline>();
  const protectedList = loadPolicy({ preset: 'coding-agent' });
  const shown = (session: LiveSession, path: string): string =>
    options.redactorFor(session).redact(path).text;

  async function put(
    session: LiveSession,
    path: string,
    body: Buffer,
    putOptions: ArchiveInOptions = {},
  ): Promise<ArchiveInResult> {
    const dir = resolveSandboxPath(path, { allowRoot: true });
    const rel = underWorkspace(dir);
    const secretFiles: string[] = [];
    const secrets: Array<{ target: string; content: Buffer }> = [];
    const targets: string[] = [];
    const seen: Array<{ path: string; sha256: string; content: Buffer }> = [];
    const checked = await checkIncomingArchive(body, limits, (entry, content, sha256) => {
      const inWorkspace = rel === null ? null : join(rel, entry);
      targets.push(`${dir}/${entry}`);
      if (isSecretPath(`./${inWorkspace ?? entry}`) || isSecretPath(`./${entry}`)) {
        secretFiles.push(entry);
        secrets.push({ target: `${dir}/${entry}`, content });
      }
      if (inWorkspace !== null) seen.push({ path: inWorkspace, sha256, content });
    });
    if (secretFiles.length > 0 && options.refuseSecrets) {
      throw new AirlockError(
        'UNSAFE_ARCHIVE',
        `archive refused: ${secretFiles.slice(0, 5).join(', ')} ${secretFiles.length === 1 ? 'looks' : 'look'} like secrets and sandbox.refuseSecretsInWorkspace is set; nothing was written`,
        { reason: 'secret', paths: secretFiles.slice(0, 100) },
      );
    }
    const directories = checked.entries.length - checked.files;
    const base = {
      path: shown(session, dir),
      files: checked.files,
      directories,
      bytes: checked.bytes,
      secretFiles,
    };
    let approvalId: string | null = null;
    // The person running Airlock copying their own project in is not a model's write: nothing to judge.
    if (putOptions.operator !== true) {
      const verdict = await approveChange(options, session, {
        subject: `copy ${checked.files} files (${checked.bytes} bytes) into ${dir}`,
        targets,
        signal: putOptions.signal,
      });
      if (verdict.status === 'denied') {
        return { ...base, status: 'denied', approvalId: verdict.approvalId, reasons: verdict.reasons };
      }
      approvalId = verdict.status === 'approved' ? verdict.approvalId : null;
    }
    // Registered before the files exist in the sandbox: no command can print their values unredacted.
    for (const secret of secrets)
      registerSecretFile(options.sessions, session, secret.target, secret.content);
    await unpackInSandbox(options.sessions, session, dir, checked.tar);
    let baseline = baselines.get(session);
    if (baseline === undefined) baselines.set(session, (baseline = emptyBaseline()));
    for (const file of seen) remember(baseline, file.path, file.sha256, file.content);
    await store.commit({
      events: [
        {
          type: 'file.archive_written',
          sessionId: session.id,
          commandId: null,
          data: {
            path: base.path,
            files: checked.files,
            directories,
            bytes: checked.bytes,
            sha256: createHash('sha256').update(checked.tar).digest('hex'),
            secretFiles: secretFiles.length,
            ...(putOptions.operator === true ? { operator: true } : {}),
          },
        },
      ],
    });
    return { ...base, status: 'completed', approvalId, reasons: [] };
  }

  async function get(session: LiveSession, path: string): Promise<ArchiveOutResult> {
    const dir = resolveSandboxPath(path, { allowRoot: true });
    const redactor = options.redactorFor(session);
    const out = pack();
    const chunks: Buffer[] = [];
    out.on('data', (chunk: Buffer) => chunks.push(chunk));
    const reader = createExportReader(
      limits,
      protectedPathJudge({ policyFor: options.policyFor, protectedList, baselines }, session, dir),
      (entry: OutgoingEntry) => {
        // A file is output too: an agent could write a secret into one and export it.
        const name = redactor.redact(entry.path).text;
        const header = { name, mode: entry.mode, mtime: entry.mtime, uid: 0, gid: 0 };
        if (entry.kind === 'file')
          out.entry({ ...header, type: 'file' }, redactBytes(redactor, entry.content).data);
        else if (entry.kind === 'directory') out.entry({ ...header, type: 'directory' });
        else
          out.entry({
            ...header,
            type: entry.kind === 'symlink' ? 'symlink' : 'link',
            linkname: entry.linkTarget ?? '',
          });
      },
    );
    await packInSandbox(options.sessions, session, dir, reader);
    const summary = await reader.done;
    out.finalize();
    await new Promise<void>((resolve) => out.once('end', resolve));
    const tar = Buffer.concat(chunks);
    const leftOut = summary.leftOut.map((note) => ({ path: redactor.redact(note.path).text, why: note.why }));
    await store.commit({
      events: [
        {
          type: 'file.archive_read',
          sessionId: session.id,
          commandId: null,
          data: {
            path: shown(session, dir),
            files: summary.files,
            bytes: summary.bytes,
            sha256: createHash('sha256').update(tar).digest('hex'),
            leftOut: leftOut.length,
          },
        },
      ],
    });
    return { tar, files: summary.files, bytes: summary.bytes, leftOut };
  }

  return {
    put,
    get,
    changes: (session, changeOptions) => listChanges({ ...options, baselines }, session, changeOptions),
  };
}
