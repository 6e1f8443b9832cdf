/**
 * Where a control plane's egress proxy keeps its sockets. Two constraints: a Unix socket path is at
 * most 107 bytes, and a session's sandbox may run as a host uid of its own (as root), whose runtime
 * must pass through every directory above the session's: the state directory is often under a home
 * only its owner may enter. So as root it is a short runtime directory (one per state directory),
 * /run/airlock/egress/<hash>, beside the uid records; otherwise `egress` in the state directory, or a
 * short one in the temporary directory when that path would be too long.
 */
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AirlockError } from '../errors/index.ts';

/** `<directory>/ses_<24 hex>/proxy.sock` must fit in 107 bytes. */
const MAX_DIRECTORY_BYTES = 107 - '/ses_000000000000000000000000/proxy.sock'.length;
const RUNTIME_ROOT = '/run/airlock/egress';

export function egressDirectory(home: string): string {
  const tag = createHash('sha256').update(home).digest('hex').slice(0, 16);
  const uid = process.getuid?.();
  if (uid === 0) {
    passableRoot(dirname(RUNTIME_ROOT));
    passableRoot(RUNTIME_ROOT);
    return join(RUNTIME_ROOT, tag);
  }
  const inHome = join(home, 'egress');
  if (Buffer.byteLength(inHome) <= MAX_DIRECTORY_BYTES) return inHome;
  const root = join(tmpdir(), `airlock-egress-${uid ?? 'user'}`);
  passableRoot(root);
  const fallback = join(root, tag);
  if (Buffer.byteLength(fallback) > MAX_DIRECTORY_BYTES) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `no egress socket directory short enough: ${inHome} and ${fallback} are both over ${MAX_DIRECTORY_BYTES} bytes (Unix socket paths are limited); use a shorter AIRLOCK_HOME or TMPDIR`,
      { path: inHome },
    );
  }
  return fallback;
}

/**
 * A directory above the proxies' own: ours, writable by nobody else, and passable (o+x) so sandboxes'
 * runtimes may pass through it to a session directory they were let into, never list it. What else
 * it holds keeps its own modes (the uid records are 0700). A planted symlink, another user's
 * directory or one others may write is refused.
 */
function passableRoot(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o711 });
  const stats = lstatSync(path);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid) || (stats.mode & 0o022) !== 0) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `${path} must be a directory of this user that nobody else can write, to hold the egress sockets; remove it or fix its owner and mode`,
      { path },
    );
  }
  if ((stats.mode & 0o011) !== 0o011) chmodSync(path, (stats.mode & 0o7777) | 0o011);
}
