/**
 * What changed in a session's workspace since a tree was copied in: added, changed and deleted paths
 * (redacted), with a unified diff when asked for; the listing is audited.
 */
import type { LiveSession } from '../../sessions/index.ts';
import type { ArchiveOpsOptions, ChangesResult } from './archive-ops.ts';
import type { Baseline } from './baseline.ts';
import { emptyBaseline } from './baseline.ts';
import { trackChanges } from './changes.ts';
import { createExportReader } from './outgoing.ts';
import { packInSandbox } from './sandbox-tar.ts';
import { WORKSPACE } from './workspace-path.ts';

export interface ListChangesDeps
  extends Pick<ArchiveOpsOptions, 'store' | 'limits' | 'sessions' | 'redactorFor'> {
  /** What each session had copied in; none: every file counts as added. */
  readonly baselines: WeakMap<LiveSession, Baseline>;
}

export async function listChanges(
  deps: ListChangesDeps,
  session: LiveSession,
  changeOptions: { readonly patch?: boolean } = {},
): Promise<ChangesResult> {
  const baseline = deps.baselines.get(session);
  const tracker = trackChanges(baseline ?? emptyBaseline(), changeOptions.patch === true);
  const reader = createExportReader(
    deps.limits,
    () => null,
    (entry) => tracker.see(entry),
  );
  await packInSandbox(deps.sessions, session, WORKSPACE, reader);
  await reader.done;
  const redactor = deps.redactorFor(session);
  const result = tracker.result();
  const names = (paths: readonly string[]): string[] => paths.map((p) => redactor.redact(p).text);
  await deps.store.commit({
    events: [
      {
        type: 'file.listed',
        sessionId: session.id,
        commandId: null,
        data: {
          path: `${WORKSPACE} (changes)`,
          entries: result.added.length + result.changed.length + result.deleted.length,
        },
      },
    ],
  });
  return {
    baseline: baseline !== undefined,
    added: names(result.added),
    changed: names(result.changed),
    deleted: names(result.deleted),
    ...(changeOptions.patch === true ? { patch: redactor.redact(tracker.patch()).text } : {}),
  };
}
