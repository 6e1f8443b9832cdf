/**
 * The host uids sessions run as: a range reserved for Airlock (`sandbox.uidRange`), each session
 * taking one uid (and the gid of the same number) of its own, so that per-user kernel limits
 * (processes, inotify instances, …), signals and /proc visibility never cross sessions. Pure.
 */

export interface UidRange {
  readonly first: number;
  readonly last: number;
}

/**
 * The default, which scripts/setup.sh reserves as the subordinate ids of a system user `airlock`:
 * above the ids useradd gives accounts (to 60000) and the usual 65534 (nobody).
 */
export const DEFAULT_UID_RANGE: UidRange = { first: 200_000, last: 299_999 };

/** 4294967295 is (uid_t)-1, "no change" to setresuid; everything above 2^31 confuses some tools. */
const MAX_UID = 2 ** 31 - 1;
/** Below this are system and human accounts on every distribution. */
const MIN_UID = 65_536;

/** `200000-299999` → the range, or what is wrong with it. */
export function parseUidRange(text: string): UidRange | string {
  const match = /^\s*(\d{1,10})\s*-\s*(\d{1,10})\s*$/.exec(text);
  if (!match) return `${JSON.stringify(text)} is not a uid range: write it as FIRST-LAST, like 200000-299999`;
  const first = Number(match[1]);
  const last = Number(match[2]);
  if (first > last) return `the uid range ${text} ends before it starts`;
  if (first < MIN_UID) {
    return `the uid range ${text} starts below ${MIN_UID}, among system and user accounts (and uid 0): choose a range above, like 200000-299999`;
  }
  if (last > MAX_UID) return `the uid range ${text} goes past ${MAX_UID}`;
  return { first, last };
}

export function formatUidRange(range: UidRange): string {
  return `${range.first}-${range.last}`;
}

export function rangeSize(range: UidRange): number {
  return range.last - range.first + 1;
}
