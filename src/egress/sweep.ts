/**
 * What proxies that are gone left in a proxy directory: session directories whose socket no one
 * answers on, and the private state (CA key, placeholder seed) beside them. A control plane that
 * crashed cannot remove its sessions' files, and a CA key must not outlive its session. Several
 * control planes may share a directory (one state directory, `airlock serve` and `airlock exec`):
 * a socket some proxy still answers on is never touched.
 */
import { createConnection } from 'node:net';
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SESSION_FILES } from './session-files.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PRIVATE_SUFFIX = '.private.json';

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(socket);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
}

/** Removes the files of sessions no proxy serves; returns how many sessions it removed. */
export async function sweepEgressLeftovers(directory: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return 0;
    throw error;
  }
  const sessions = new Set<string>();
  for (const name of names) {
    const id = name.endsWith(PRIVATE_SUFFIX) ? name.slice(0, -PRIVATE_SUFFIX.length) : name;
    if (SESSION_ID.test(id)) sessions.add(id);
  }
  let removed = 0;
  for (const id of sessions) {
    const sessionDir = join(directory, id);
    const stats = await lstat(sessionDir).catch(() => undefined);
    if (stats !== undefined && !stats.isDirectory()) continue;
    if (stats !== undefined && (await answers(join(sessionDir, SESSION_FILES.socket)))) continue;
    await rm(sessionDir, { recursive: true, force: true });
    await rm(join(directory, `${id}${PRIVATE_SUFFIX}`), { force: true });
    removed += 1;
  }
  return removed;
}
