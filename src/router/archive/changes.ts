/**
 * What changed under /workspace since the tree was copied in: added, changed and deleted files, and
 * the same as a unified diff (`git apply` / `patch -p1` take it). Binary files and files whose old text
 * was not kept are named in the patch, not diffed.
 */
import { createTwoFilesPatch } from 'diff';
import type { Baseline } from './baseline.ts';
import { asText } from './baseline.ts';
import type { OutgoingEntry } from './outgoing.ts';

export interface WorkspaceChanges {
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
}

export interface ChangeTracker {
  see(entry: OutgoingEntry): void;
  result(): WorkspaceChanges;
  patch(): string;
}

export function trackChanges(baseline: Baseline, withPatch: boolean): ChangeTracker {
  const added: string[] = [];
  const changed: string[] = [];
  const present = new Set<string>();
  const pieces: string[] = [];
  const diff = (path: string, before: string | null, after: string | null, note: string | null): void => {
    if (!withPatch) return;
    if (note !== null) {
      pieces.push(`diff --git a/${path} b/${path}\n# ${note}\n`);
      return;
    }
    const patch = createTwoFilesPatch(
      before === null ? '/dev/null' : `a/${path}`,
      after === null ? '/dev/null' : `b/${path}`,
      before ?? '',
      after ?? '',
      undefined,
      undefined,
      { context: 3 },
    );
    // jsdiff opens with a separator line of its own; `git apply` wants the --- line first, and a
    // created or deleted file said so in the header.
    const mode =
      before === null ? 'new file mode 100644\n' : after === null ? 'deleted file mode 100644\n' : '';
    pieces.push(`diff --git a/${path} b/${path}\n${mode}${patch.slice(patch.indexOf('---'))}`);
  };
  return {
    see(entry) {
      if (entry.kind !== 'file') return;
      present.add(entry.path);
      const before = baseline.files.get(entry.path);
      if (before?.sha256 === entry.sha256) return;
      (before === undefined ? added : changed).push(entry.path);
      const after = asText(entry.content);
      if (after === null) diff(entry.path, null, null, 'Binary files differ');
      else if (before !== undefined && before.keptText === null)
        diff(entry.path, null, null, 'the old text was not kept (binary or large); not diffed');
      else diff(entry.path, before?.keptText?.toString('utf8') ?? null, after, null);
    },
    result() {
      const deleted = [...baseline.files.keys()].filter((path) => !present.has(path)).sort();
      return { added: added.sort(), changed: changed.sort(), deleted };
    },
    patch() {
      for (const path of [...baseline.files.keys()].filter((p) => !present.has(p)).sort()) {
        const before = baseline.files.get(path);
        if (before?.keptText == null) diff(path, null, null, 'deleted; the old text was not kept');
        else diff(path, before.keptText.toString('utf8'), null, null);
      }
      return pieces.join('');
    },
  };
}
