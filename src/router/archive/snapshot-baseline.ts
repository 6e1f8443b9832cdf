/**
 * What a session's /workspace held in one of its snapshots, as a baseline for changes: the snapshot's
 * archive (made by the sandbox's own tar, stored as opaque bytes) is read on the host through the same
 * entry checks as any tree coming out of a sandbox, never unpacked; only files under `workspace/` count.
 * A session may compare only with its own snapshots or the one it was made from: another session's
 * snapshot is another session's data.
 */
import { AirlockError } from '../../errors/index.ts';
import type { LiveSession, SnapshotStore } from '../../sessions/index.ts';
import { emptyBaseline, mayKeepText, remember } from './baseline.ts';
import type { Baseline } from './baseline.ts';
import type { ArchiveLimits } from './limits.ts';
import { createExportReader } from './outgoing.ts';

export type SnapshotArchives = Pick<SnapshotStore, 'get' | 'read'>;

const PREFIX = 'workspace/';

export async function snapshotBaseline(
  snapshots: SnapshotArchives | undefined,
  limits: ArchiveLimits,
  session: LiveSession,
  id: string,
): Promise<Baseline> {
  const info =
    snapshots === undefined
      ? null
      : await Promise.resolve()
          .then(() => snapshots.get(id))
          .catch(() => null);
  // Someone else's snapshot is answered like a missing one: its existence is not this session's to know.
  if (
    snapshots === undefined ||
    info === null ||
    (info.sessionId !== session.id && session.settings.fromSnapshot !== id)
  ) {
    throw new AirlockError('NOT_FOUND', `no snapshot ${id} of this session`, { snapshotId: id });
  }
  const baseline = emptyBaseline();
  // A snapshot holds /tmp too: the limits are those of an export, for the whole archive.
  const reader = createExportReader(
    { maxBytes: limits.maxBytes * 2, maxEntries: limits.maxEntries * 2 },
    () => null,
    (entry) => {
      if (entry.kind !== 'file' || !entry.path.startsWith(PREFIX)) return;
      const path = entry.path.slice(PREFIX.length);
      remember(
        baseline,
        path,
        entry.sha256,
        mayKeepText(baseline, entry.content.length) ? entry.content : null,
      );
    },
  );
  for await (const chunk of snapshots.read(id)) {
    if (reader.stop.aborted) break;
    if (!reader.sink.write(chunk))
      await Promise.race([
        new Promise<void>((resolve) => reader.sink.once('drain', () => resolve())),
        reader.done,
      ]);
  }
  reader.end();
  await reader.done;
  return baseline;
}
