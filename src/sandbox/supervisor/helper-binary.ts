import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  constants,
  lstatSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AirlockError } from '../../errors/index.ts';

/** The static airlock-helper (launcher and in-sandbox supervisor) built by `npm ci` (postinstall). */
export const defaultHelperPath = fileURLToPath(new URL('../../../build/airlock-helper', import.meta.url));

/** What to tell someone whose helper binary is missing. */
export function helperMissingMessage(helperPath: string): string {
  return `the sandbox helper ${helperPath} is not built: install gcc and libc6-dev, then run npm run build:helper`;
}

export function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where a root control plane publishes the helper for sessions' uids (see publishHelperForSessions). */
export const PUBLISHED_HELPER_DIR = '/run/airlock/helper';

/**
 * A copy of the helper that every session's host uid can reach. bwrap binds the supervisor into the
 * sandbox after the launcher has dropped to the session's uid, and resolves the binary's path as
 * that uid: a checkout under a private directory (root's home is mode 0700) would refuse it. The
 * copy is named by its content's hash, root's, mode 0555, in a directory only root may write, with
 * every directory above it traversable but not listable (0711); an existing copy is used only if it
 * is root's, unwritable by others and holds the same bytes.
 */
export function publishHelperForSessions(helperPath: string, dir = PUBLISHED_HELPER_DIR): string {
  const bytes = readFileSync(helperPath);
  const name = `airlock-helper-${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}`;
  const target = join(dir, name);
  for (const path of [dirname(dir), dir]) {
    mkdirSync(path, { recursive: true, mode: 0o711 });
    const stat = lstatSync(path);
    if (!stat.isDirectory() || stat.uid !== 0 || (stat.mode & 0o022) !== 0) {
      throw new AirlockError(
        'SANDBOX_UNAVAILABLE',
        `${path} must be a directory of root's that nobody else can write, to hold the sandbox helper`,
        { driver: 'bwrap', reason: 'helper directory unsafe' },
      );
    }
    // Traversable by the sessions' uids; the uid records beside it stay private (0700 below).
    if ((stat.mode & 0o011) !== 0o011) chmodSync(path, (stat.mode & 0o7777) | 0o011);
  }
  try {
    const existing = lstatSync(target);
    if (
      existing.isFile() &&
      existing.uid === 0 &&
      (existing.mode & 0o022) === 0 &&
      readFileSync(target).equals(bytes)
    ) {
      return target;
    }
    rmSync(target, { force: true });
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ENOENT') throw error;
  }
  const temporary = `${target}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temporary, bytes, { mode: 0o555, flag: 'wx' });
  chmodSync(temporary, 0o555);
  renameSync(temporary, target);
  return target;
}
