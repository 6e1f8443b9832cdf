/**
 * One path's entry (kind, size, time) read from its directory's listing inside the sandbox, or null
 * when there is none; the look is recorded like a listing, paths redacted.
 */
import { posix } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { resolveSandboxPath } from '../sandbox/index.ts';
import type { FileEntry } from '../sandbox/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import { listInSandbox } from './execute/index.ts';
import type { FileChangesOptions, FileStat } from './file-changes.ts';
import { recordFileEvent } from './record/index.ts';

type FileStatDeps = Pick<FileChangesOptions, 'store' | 'sessions' | 'redactorFor'>;

export async function statInSandbox(
  options: FileStatDeps,
  session: LiveSession,
  path: string,
): Promise<FileStat | null> {
  const shown = (session: LiveSession, text: string): string =>
    options.redactorFor(session).redact(text).text;
  const target = resolveSandboxPath(path, { allowRoot: true });
  const parent = posix.dirname(target);
  if (parent === '/') {
    return { path: target, name: posix.basename(target), kind: 'directory', sizeBytes: 0, modifiedMs: 0 };
  }
  let entries: FileEntry[];
  try {
    entries = await listInSandbox(options.sessions, session, parent);
  } catch (error) {
    if (
      error instanceof AirlockError &&
      (error.code === 'NOT_FOUND' || error.code === 'SANDBOX_REQUEST_FAILED')
    )
      return null;
    throw error;
  }
  const entry = entries.find((candidate) => candidate.name === posix.basename(target));
  await recordFileEvent(options.store, session.id, {
    kind: 'listed',
    path: shown(session, target),
    entries: entry ? 1 : 0,
  });
  return entry === undefined
    ? null
    : { ...entry, name: shown(session, entry.name), path: shown(session, target) };
}
