import { readFileSync } from 'node:fs';
import { AirlockError } from '../../errors/index.ts';
import { formatUidRange } from './range.ts';
import type { UidRange } from './range.ts';

export interface AccountFiles {
  passwd: string;
  group: string;
  /** /etc/subuid and /etc/subgid: `owner:first:count` per line. */
  subuid: string;
  subgid: string;
}

/** The user that owns Airlock's range in /etc/subuid (scripts/setup.sh adds it). */
export const RANGE_OWNER = 'airlock';

function overlaps(range: UidRange, first: number, last: number): boolean {
  return first <= range.last && last >= range.first;
}

/**
 * Everything on this host a session's uid or gid must never be: an account (/etc/passwd), a group
 * (/etc/group: the session would hold its files' group access) or another user's subordinate ids
 * (/etc/subuid, /etc/subgid: rootless containers of that user run as those). Pure.
 */
export function rangeConflicts(range: UidRange, files: AccountFiles): string[] {
  const conflicts: string[] = [];
  const ids = (text: string, what: string) => {
    for (const line of text.split('\n')) {
      const [name, , id] = line.split(':');
      const value = Number(id);
      if (name && id !== undefined && id !== '' && Number.isInteger(value) && overlaps(range, value, value)) {
        conflicts.push(`${what} ${name} (${value})`);
      }
    }
  };
  ids(files.passwd, 'the account');
  ids(files.group, 'the group');
  for (const [text, what] of [
    [files.subuid, 'subordinate uids'],
    [files.subgid, 'subordinate gids'],
  ] as const) {
    for (const line of text.split('\n')) {
      const [owner, first, count] = line.split(':');
      const start = Number(first);
      const size = Number(count);
      if (
        !owner ||
        owner === RANGE_OWNER ||
        !Number.isInteger(start) ||
        !Number.isInteger(size) ||
        size <= 0
      ) {
        continue;
      }
      if (overlaps(range, start, start + size - 1)) {
        conflicts.push(`${owner}'s ${what} ${start}-${start + size - 1}`);
      }
    }
  }
  return conflicts;
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Refuses a range that holds any id of this host's accounts, groups or other users' subordinate ids. */
export function assertRangeIsFree(range: UidRange, root = '/etc'): void {
  const conflicts = rangeConflicts(range, {
    passwd: readOrEmpty(`${root}/passwd`),
    group: readOrEmpty(`${root}/group`),
    subuid: readOrEmpty(`${root}/subuid`),
    subgid: readOrEmpty(`${root}/subgid`),
  });
  if (conflicts.length > 0) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `sandbox.uidRange ${formatUidRange(range)} holds ids already in use on this host (${conflicts.slice(0, 5).join(', ')}${conflicts.length > 5 ? ', …' : ''}): sessions would share them; choose a range no account, group or subordinate range uses`,
      { field: 'sandbox.uidRange', conflicts },
    );
  }
}
