import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where every control plane on this host keeps its uid entries. As root: /run/airlock/uids, one
 * place for all of them (and emptied at boot, when no sandbox is left). Otherwise a directory of
 * this user's own: it cannot switch bwrap's uid anyway, and Docker containers it asks for get uids
 * from the range, which two users running Airlock with Docker must then give different ranges.
 */
export function defaultUidLockDir(): string {
  const uid = process.getuid?.();
  return uid === 0 ? '/run/airlock/uids' : join(tmpdir(), `airlock-uids-${uid ?? 'user'}`);
}
