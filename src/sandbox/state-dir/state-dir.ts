import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../../errors/index.ts';

/**
 * Creates (if needed) the directory holding per-sandbox host state and checks it is a real
 * directory owned by us. The default lives under the shared tmpdir: another local user could
 * pre-create it, or plant a symlink there, to read or redirect our spool files.
 */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stat = lstatSync(path);
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid)) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      `${path} is not a directory owned by this user; refusing to keep sandbox state there (set stateDir / AIRLOCK_HOME elsewhere)`,
      { path },
    );
  }
  if ((stat.mode & 0o077) !== 0) chmodSync(path, 0o700);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie answers signal 0 but is as dead as a control plane gets.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Session names carry the owning control plane's pid, so a later start can tell leftovers apart. */
export function sessionName(id: string): string {
  return `${process.pid}-${id}`;
}

/** True for a session of a control plane that is gone (another process's or a crashed one). */
export function isStale(name: string): boolean {
  const match = /^(\d+)-[0-9a-f]+$/.exec(name);
  if (!match) return false;
  const owner = Number(match[1]);
  return owner !== process.pid && !isProcessAlive(owner);
}

/** Removes state directories of stale sessions; returns how many. */
export function sweepStaleDirs(dir: string): number {
  if (!existsSync(dir)) return 0;
  let removed = 0;
  for (const name of readdirSync(dir)) {
    if (!isStale(name)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed += 1;
  }
  return removed;
}
