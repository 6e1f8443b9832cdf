/**
 * The execute stage for file copies: each one a call into the session's sandbox, counted as work in
 * flight so the session is not reaped as idle meanwhile. Paths are checked by the sandbox (relative to
 * /workspace, no `..`, writable areas only, no symlinks followed).
 */
import { posix } from 'node:path';
import { AirlockError, isAirlockError } from '../../errors/index.ts';
import type { FileEntry, ReadFileOptions } from '../../sandbox/index.ts';
import { asSessionWork } from '../../sessions/index.ts';
import type { LiveSession, SessionManager } from '../../sessions/index.ts';

type Work = Pick<SessionManager, 'beginWork'>;

export function writeInSandbox(
  sessions: Work,
  session: LiveSession,
  path: string,
  data: string | Uint8Array,
): Promise<void> {
  return asSessionWork(sessions, session, () =>
    session.sandbox.writeFile(path, data, { createParents: true }),
  );
}

export function readFromSandbox(
  sessions: Work,
  session: LiveSession,
  path: string,
  options: ReadFileOptions,
): Promise<Buffer> {
  return asSessionWork(sessions, session, () => session.sandbox.readFile(path, options));
}

export function listInSandbox(sessions: Work, session: LiveSession, path: string): Promise<FileEntry[]> {
  return asSessionWork(sessions, session, () => session.sandbox.listFiles(path));
}

/**
 * A symlink the agent planted (`ln -s /etc /workspace/etc`) is only visible inside the sandbox, and the
 * write refuses it there. Looking first means a person is never asked to approve a harmless-looking
 * `etc/hosts` that could not be written anyway. This is for the person, not the boundary: the write
 * itself resolves the path again without following links.
 */
export async function refusePlantedLink(session: LiveSession, target: string): Promise<void> {
  const parent = posix.dirname(target);
  let entries: FileEntry[];
  try {
    entries = await session.sandbox.listFiles(parent);
  } catch (error) {
    // A missing directory is created by the write (or fails it); only a link on the way is refused.
    if (isAirlockError(error) && error.code === 'PATH_OUTSIDE_SANDBOX') throw error;
    return;
  }
  const leaf = posix.basename(target);
  if (entries.some((entry) => entry.name === leaf && entry.kind === 'symlink')) {
    throw new AirlockError(
      'PATH_OUTSIDE_SANDBOX',
      `${target} is a symbolic link; files are written only through real paths`,
      { path: target },
    );
  }
}
