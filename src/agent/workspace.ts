/**
 * A project in and the work out, as archives. In: the directory is packed as it is read and copied into
 * /workspace as one checked archive before the model starts (the person's own copy: no approval
 * asked, recorded once), bounded by the archive limits (`router.archive`); symlinks, special files and
 * files that look like secrets stay out. Out: what changed is the session's own list of changes since
 * the copy in; with write-back, a changed or new file is written back only when it passed the export
 * checks on the way out (links out of the tree, special files, setuid bits and protected paths are left
 * out with a note) and these: a path the policy lets a write reach unasked, never git metadata,
 * content that did not come back redacted, never through a symlink on the host. Deletions are
 * reported, never carried out on the host.
 */
import { lstat } from 'node:fs/promises';
import type { Policy } from '../policy/index.ts';
import { evaluateFileAccess, isSecretPath } from '../policy/index.ts';
import type { Session } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import { sendDirectory, unpackInto } from '../local-tree/index.ts';

const MARKER = '[REDACTED:';

export interface WorkspaceOptions {
  /** An absolute host directory. */
  readonly dir: string;
  /** Write changed and new files back after the run (after the export checks). */
  readonly writeBack?: boolean;
}

export interface LeftOut {
  readonly path: string;
  readonly why: string;
}

export interface CopiedIn {
  readonly files: number;
  readonly bytes: number;
  readonly leftOut: readonly LeftOut[];
}

export interface WorkspaceChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
  /** Paths written back to the host directory (none without write-back). */
  readonly written: readonly string[];
  readonly leftOut: readonly LeftOut[];
}

export async function copyWorkspaceIn(session: Session, options: WorkspaceOptions): Promise<CopiedIn> {
  const info = await lstat(options.dir).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new AirlockError('INVALID_ARGUMENT', `workspace ${options.dir} is not a directory`, {
      field: 'workspace',
    });
  }
  const secrets: LeftOut[] = [];
  // The model is not given the person's credentials: such files stay on the host.
  const skip = (rel: string): boolean => {
    if (rel.endsWith('/') || !isSecretPath(`./${rel}`)) return false;
    secrets.push({ path: rel, why: 'looks like a secret (credentials, keys, .env)' });
    return true;
  };
  // Checked as it streams, and unpacked only once all of it passed: copied whole or not at all.
  const { result: copied, leftOut } = await sendDirectory(options.dir, { skip }, (tar) =>
    session.files.putArchive('/workspace', tar, { operator: true }),
  );
  return { files: copied.files, bytes: copied.bytes, leftOut: [...leftOut, ...secrets] };
}

export async function collectWorkspaceChanges(
  session: Session,
  options: WorkspaceOptions,
  policy: Policy,
): Promise<WorkspaceChanges> {
  const { added, changed, deleted } = await session.changes();
  if (options.writeBack !== true) return { added, changed, deleted, written: [], leftOut: [] };
  const wanted = new Set([...added, ...changed]);
  const out = await session.files.openArchive('/workspace');
  const unpacked = await unpackInto(options.dir, out.stream(), (rel, content) => {
    if (rel.endsWith('/') || !wanted.has(rel)) return '';
    return exportProblem(rel, content, policy) ?? true;
  });
  // The export checks pass what was copied in unchanged: what they held back is the model's work.
  return {
    added,
    changed,
    deleted,
    written: unpacked.written,
    leftOut: [...out.leftOut, ...unpacked.leftOut],
  };
}

/** Why a changed file may not go back to the host, or null when it may. */
function exportProblem(path: string, data: Uint8Array, policy: Policy): string | null {
  if (path === '.git' || path.startsWith('.git/'))
    return 'git metadata is never written back (hooks run on the host)';
  const decision = evaluateFileAccess(policy, 'write', `/workspace/${path}`);
  if (decision.decision !== 'allow') {
    return `the policy would ${decision.decision === 'ask' ? 'ask a person before' : 'refuse'} this write: ${decision.reasons.join('; ')}`;
  }
  // Read back redacted: writing it would put markers where the file's own text was.
  if (Buffer.from(data).includes(MARKER))
    return 'it holds what looks like a secret (it came back redacted); copy it by hand';
  return null;
}

/*
 * Security limitations:
 * - Write-back reads files through the session's redaction (as the model sees them): a file holding
 *   something that looks like a secret is left out rather than written back with markers in it; one
 *   whose secret the redactor does not recognise is written back as it is.
 * - Files are written back with the mode they had in the sandbox, without setuid or setgid bits.
 * - The host directory is trusted not to change while the run lasts: a path component swapped for a
 *   symlink by another host process between the check and the write is caught only at the file itself
 *   (O_NOFOLLOW), not in its parent directories.
 * - Operator copies skip `approvalRequiredFor: write_file`; that is the person's own project, copied
 *   before the model starts. What the model writes afterwards is judged as always.
 */
