/**
 * What changed in a session's workspace since a tree was copied in: added, changed and deleted paths
 * (redacted), with a unified diff when asked for; the listing is audited.
 */
import type { LiveSession } from '../../sessions/index.ts';
import type { ArchiveOpsOptions, ChangesOptions, ChangesResult } from './archive-ops.ts';
import { snapshotBaseline } from './snapshot-baseline.ts';
import type { Baseline } from './baseline.ts';
import { emptyBaseline } from './baseline.ts';
import { trackChanges } from './changes.ts';
import { createExportReader } from './outgoing.ts';
import { packInSandbox } from './sandbox-tar.ts';
import { WORKSPACE } from './workspace-path.ts';

export interface ListChangesDeps
  extends Pick<ArchiveOpsOptions, 'store' | 'limits' | 'sessions' | 'redactorFor' | 'snapshots'> {
  /** What each session had copied in; none: every file counts as added. */
  readonly baselines: WeakMap<LiveSession, Baseline>;
}

export async function listChanges(
  deps: ListChangesDeps,
  session: LiveSession,
  changeOptions: ChangesOptions = {},
): Promise<ChangesResult> {
  const { since } = changeOptions;
  // Since a snapshot of this session, or since the last copy into /workspace.
  const baseline =
    since === undefined
      ? deps.baselines.get(session)
      : await snapshotBaseline(deps.snapshots, deps.limits, session, since);
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
          path: `${WORKSPACE} (changes${since === undefined ? '' : ` since ${since}`})`,
          entries: result.added.length + result.changed.length + result.deleted.length,
        },
      },
    ],
  });
  return {
    baseline: baseline !== undefined,
    ...(since === undefined ? {} : { since }),
    added: names(result.added),
    changed: names(result.changed),
    deleted: names(result.deleted),
    ...(changeOptions.patch === true ? { patch: redactor.redact(tracker.patch()).text } : {}),
  };
}
