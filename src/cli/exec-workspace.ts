/**
 * `airlock exec --workspace DIR [--write-back] [--all]`: DIR is copied into /workspace as one checked
 * archive (honouring its .gitignore files unless --all), the command runs, and then either a summary
 * of what changed is printed, or (--write-back) the changed and new files that passed the export
 * checks are written back into DIR. Deletions are reported, never carried out on this machine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import ignore from 'ignore';
import type { Ignore } from 'ignore';
import type { Session } from '../airlock/index.ts';
import type { CliContext } from './context.ts';
import { sendDirectory, unpackInto } from '../local-tree/index.ts';
import type { PackFilter, SkipPath } from '../local-tree/index.ts';

const MARKER = '[REDACTED:';

/**
 * The .gitignore rules of `root` and of every directory in it, as git reads them: a file's patterns
 * apply below the directory that holds it. Each directory's file is loaded as the walk enters it.
 */
export function gitignoreOf(root: string): PackFilter {
  const rules = new Map<string, Ignore>();
  return {
    enter: async (dir) => {
      const text = await readFile(join(root, dir, '.gitignore'), 'utf8').catch(() => null);
      if (text !== null) rules.set(dir, ignore().add(text));
    },
    skip: (rel) => {
      const parts = rel.replace(/\/$/, '').split('/');
      for (let depth = 0; depth < parts.length; depth += 1) {
        const dir = parts.slice(0, depth).join('/');
        const matcher = rules.get(dir);
        if (matcher?.ignores(rel.slice(dir === '' ? 0 : dir.length + 1)) === true) return true;
      }
      return false;
    },
  };
}

export interface WorkspaceFlags {
  readonly workspace: string;
  readonly writeBack: boolean;
  readonly all: boolean;
}

export async function copyWorkspaceIn(
  session: Session,
  flags: WorkspaceFlags,
  context: CliContext,
): Promise<SkipPath> {
  const root = flags.workspace;
  const filter: PackFilter = flags.all ? { skip: () => false } : gitignoreOf(root);
  // Packed as it is copied in: a project of any size is never held whole in this process.
  const { result: copied, leftOut } = await sendDirectory(root, filter, (tar) =>
    session.files.putArchive('/workspace', tar, { operator: true }),
  );
  for (const note of leftOut) context.stderr.warn(`workspace: left out ${note.path}: ${note.why}`);
  for (const secret of copied.secretFiles) {
    context.stderr.warn(
      `workspace: ${secret} looks like a secret; its values are redacted from every output`,
    );
  }
  return filter.skip;
}

export async function finishWorkspace(
  session: Session,
  flags: WorkspaceFlags,
  skip: SkipPath,
  context: CliContext,
): Promise<void> {
  const changes = await session.changes();
  const { stderr } = context;
  const total = changes.added.length + changes.changed.length + changes.deleted.length;
  stderr.write(
    `workspace: ${changes.changed.length} changed, ${changes.added.length} added, ${changes.deleted.length} deleted` +
      `${total === 0 ? '' : ':'}\n`,
  );
  for (const path of changes.changed) stderr.write(`  M ${path}\n`);
  for (const path of changes.added) stderr.write(`  A ${path}\n`);
  for (const path of changes.deleted) stderr.write(`  D ${path}\n`);
  if (!flags.writeBack) return;
  const wanted = new Set([...changes.added, ...changes.changed]);
  const out = await session.files.getArchive('/workspace');
  for (const note of out.leftOut) stderr.warn(`workspace: not written back ${note.path}: ${note.why}`);
  const written = await unpackInto(flags.workspace, out.tar, (rel, content) => {
    if (rel.endsWith('/') || !wanted.has(rel)) return '';
    // Ignored paths (build output, dependencies) stay in the sandbox, as they were never copied in.
    if (skip(rel)) return '';
    // Read back redacted: writing it would put markers where the file's own text was.
    if (content.includes(MARKER))
      return 'it holds what looks like a secret (it came back redacted); copy it by hand';
    return true;
  });
  for (const note of written.leftOut) stderr.warn(`workspace: not written back ${note.path}: ${note.why}`);
  stderr.write(
    `workspace: wrote ${written.files} files back to ${flags.workspace}; deletions are not carried out\n`,
  );
}
