/**
 * A project in and the work out. In: the directory's regular files are copied into /workspace before
 * the model starts (the person's own copy: no approval asked, each file recorded), within file-count
 * and size limits checked before anything is copied; symlinks, special files and files that look like
 * secrets stay out. Out: what changed is compared with what went in; with write-back, a changed or new
 * file is written back only when it passes the export checks — a regular file, a path the policy lets
 * a write reach unasked (agent and editor configuration, git hooks, CI workflows and build scripts are
 * left out with the policy's reason), content that did not come back redacted, never through a symlink
 * on the host. Deletions are reported, never carried out on the host.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, mkdir, open, opendir, readFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Policy } from '../policy/index.ts';
import { evaluateFileAccess, isSecretPath } from '../policy/index.ts';
import type { Session } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';

/** Most files copied in: a project bigger than this wants the archive copy (airlock cp), not file by file. */
export const MAX_WORKSPACE_FILES = 5000;
/** Most bytes copied in, all files together (the sandbox's scratch is usually smaller anyway). */
export const MAX_WORKSPACE_BYTES = 64 * 1024 * 1024;
/** Largest file read back for write-back. */
export const MAX_WRITE_BACK_FILE_BYTES = 16 * 1024 * 1024;
/** Deepest directory walked, in and out. */
const MAX_DEPTH = 32;
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
  /** sha256 of each file copied in, by path relative to the workspace. */
  readonly hashes: ReadonlyMap<string, string>;
}

export interface WorkspaceChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
  /** Paths written back to the host directory (none without write-back). */
  readonly written: readonly string[];
  readonly leftOut: readonly LeftOut[];
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** The host directory's regular files, relative paths, with what is left out and why. */
async function hostFiles(
  root: string,
): Promise<{ files: Array<{ path: string; size: number }>; leftOut: LeftOut[] }> {
  const files: Array<{ path: string; size: number }> = [];
  const leftOut: LeftOut[] = [];
  const walk = async (dir: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH) {
      leftOut.push({ path: relative(root, dir), why: `deeper than ${MAX_DEPTH} directories` });
      return;
    }
    for await (const entry of await opendir(dir)) {
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      if (entry.isDirectory()) await walk(full, depth + 1);
      else if (entry.isSymbolicLink())
        leftOut.push({ path: rel, why: 'a symlink (it could point anywhere on the host)' });
      else if (!entry.isFile()) leftOut.push({ path: rel, why: 'not a regular file' });
      else if (isSecretPath(`./${rel}`))
        leftOut.push({ path: rel, why: 'looks like a secret (credentials, keys, .env)' });
      else files.push({ path: rel, size: (await lstat(full)).size });
      if (files.length > MAX_WORKSPACE_FILES) return;
    }
  };
  await walk(root, 0);
  return { files, leftOut };
}

export async function copyWorkspaceIn(session: Session, options: WorkspaceOptions): Promise<CopiedIn> {
  const info = await lstat(options.dir).catch(() => null);
  if (info === null || !info.isDirectory()) {
    throw new AirlockError('INVALID_ARGUMENT', `workspace ${options.dir} is not a directory`, {
      field: 'workspace',
    });
  }
  const { files, leftOut } = await hostFiles(options.dir);
  const bytes = files.reduce((sum, file) => sum + file.size, 0);
  // Checked before the first copy: a workspace is copied whole or not at all.
  if (files.length > MAX_WORKSPACE_FILES || bytes > MAX_WORKSPACE_BYTES) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `workspace ${options.dir} has more than ${MAX_WORKSPACE_FILES} files or ${MAX_WORKSPACE_BYTES / 1048576} MiB; ` +
        'copy a smaller directory (a subdirectory, or a clean checkout)',
      { field: 'workspace', files: files.length, bytes },
    );
  }
  const hashes = new Map<string, string>();
  for (const file of files) {
    const data = await readFile(join(options.dir, file.path));
    await session.files.write(`/workspace/${file.path}`, data, { operator: true });
    hashes.set(file.path, sha256(data));
  }
  return { files: files.length, bytes, leftOut, hashes };
}

/** Every regular file under /workspace in the sandbox, relative paths; the rest reported. */
async function sandboxFiles(session: Session): Promise<{ files: string[]; leftOut: LeftOut[] }> {
  const files: string[] = [];
  const leftOut: LeftOut[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > MAX_DEPTH || files.length > MAX_WORKSPACE_FILES) return;
    for (const entry of await session.files.list(rel === '' ? '/workspace' : `/workspace/${rel}`)) {
      const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.kind === 'directory') await walk(path, depth + 1);
      else if (entry.kind !== 'file') leftOut.push({ path, why: `a ${entry.kind}, not a regular file` });
      else if (entry.sizeBytes > MAX_WRITE_BACK_FILE_BYTES) leftOut.push({ path, why: 'larger than 16 MiB' });
      else files.push(path);
    }
  };
  await walk('', 0);
  return { files, leftOut };
}

/** Writes `data` at `root/rel`, refusing to follow a symlink anywhere on the way. */
async function writeBackFile(root: string, rel: string, data: Uint8Array): Promise<void> {
  const target = join(root, rel);
  let dir = root;
  for (const part of dirname(rel)
    .split('/')
    .filter((segment) => segment !== '' && segment !== '.')) {
    dir = join(dir, part);
    const found = await lstat(dir).catch(() => null);
    if (found === null) await mkdir(dir, { mode: 0o755 });
    else if (!found.isDirectory()) throw new Error(`${relative(root, dir)} is not a directory on the host`);
  }
  // O_NOFOLLOW: a symlink planted at the target on the host is refused, not written through.
  const handle = await open(
    target,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o644,
  );
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

export async function collectWorkspaceChanges(
  session: Session,
  options: WorkspaceOptions,
  copied: CopiedIn,
  policy: Policy,
): Promise<WorkspaceChanges> {
  const { files, leftOut } = await sandboxFiles(session);
  const added: string[] = [];
  const changed: string[] = [];
  const written: string[] = [];
  const present = new Set(files);
  for (const path of files) {
    const data = await session.files.read(`/workspace/${path}`, { maxBytes: MAX_WRITE_BACK_FILE_BYTES });
    const before = copied.hashes.get(path);
    if (before === sha256(data)) continue;
    (before === undefined ? added : changed).push(path);
    if (options.writeBack !== true) continue;
    const problem = exportProblem(path, data, policy);
    if (problem !== null) {
      leftOut.push({ path, why: problem });
      continue;
    }
    try {
      await writeBackFile(options.dir, path, data);
      written.push(path);
    } catch (error) {
      leftOut.push({ path, why: `not written: ${(error as Error).message}` });
    }
  }
  const deleted = [...copied.hashes.keys()].filter((path) => !present.has(path));
  return { added, changed, deleted, written, leftOut };
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
 * - New files are written with mode 0644 and changed files keep the mode they had on the host: an
 *   executable bit set in the sandbox does not come back, and no setuid or setgid bit ever does.
 * - The host directory is trusted not to change while the run lasts: a path component swapped for a
 *   symlink by another host process between the check and the write is caught only at the file itself
 *   (O_NOFOLLOW), not in its parent directories.
 * - Operator copies skip `approvalRequiredFor: write_file`; that is the person's own project, copied
 *   before the model starts. What the model writes afterwards is judged as always.
 */
