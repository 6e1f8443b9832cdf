/**
 * Hands each session a host uid (and the gid of the same number) of its own from the range, and
 * takes it back at destroy. Every control plane on the host shares one lock directory: a uid is
 * taken by an entry `<uid>.<pid>-<start time>` there, made with O_EXCL, and kept only if no other
 * live control plane holds an entry for the same uid (two that race both back off and try another).
 * An entry of a control plane that died (kill -9, a crash) is taken over only once no process of
 * that uid is left on the host: its sandboxes may outlive it for a moment (Docker's until swept).
 */
import { closeSync, openSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../../errors/index.ts';
import { ensurePrivateDir } from '../state-dir/index.ts';
import { assertRangeIsFree } from './accounts.ts';
import { formatUidRange, rangeSize } from './range.ts';
import type { UidRange } from './range.ts';

export interface HostIds {
  readonly uid: number;
  readonly gid: number;
}

/** A uid this control plane holds; `release` (idempotent) once nothing of the session runs any more. */
export interface UidLease extends HostIds {
  release(): void;
}

export interface HostUidAllocatorOptions {
  readonly range: UidRange;
  /** Shared by every control plane on the host (default: see defaultUidLockDir). */
  readonly lockDir: string;
  /** Where accounts are read from; tests point it elsewhere. Default /etc. */
  readonly accountsDir?: string;
  /** Default Math.random. */
  readonly random?: () => number;
}

export interface HostUidAllocator {
  readonly range: UidRange;
  /** LIMIT_REACHED when every uid of the range is held; INVALID_CONFIG when it holds a host account's. */
  allocate(): UidLease;
  /** Removes the entries of dead control planes whose uid has no process left; returns how many. */
  sweep(): number;
}

/** Random picks before an ordered walk: with a range far larger than the sessions, the first almost always does. */
const RANDOM_TRIES = 16;

function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? null : (fields[19] ?? null);
  } catch {
    return null;
  }
}

/** This process as an entry owner: pid and start time, so a recycled pid is not taken for it. */
function ownerName(): string {
  return `${process.pid}-${startTime(process.pid) ?? '0'}`;
}

function isOwnerAlive(owner: string): boolean {
  const match = /^(\d+)-(\d+)$/.exec(owner);
  if (!match) return false;
  return startTime(Number(match[1])) === match[2];
}

/** Whether any process on the host has `uid` as its real, effective, saved or filesystem uid. */
export function processesRunAs(uid: number): boolean {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const line = /^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '';
      if (line.split(/\s+/).some((field) => Number(field) === uid)) return true;
    } catch {
      // exited while we looked
    }
  }
  return false;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

export function createHostUidAllocator(options: HostUidAllocatorOptions): HostUidAllocator {
  const { range, lockDir } = options;
  const random = options.random ?? Math.random;
  const owner = ownerName();
  let checked = false;

  function prepare(): void {
    if (checked) return;
    assertRangeIsFree(range, options.accountsDir);
    ensurePrivateDir(lockDir);
    checked = true;
  }

  function entriesFor(uid: number, names: readonly string[]): string[] {
    return names.filter((name) => name.startsWith(`${uid}.`));
  }

  function tryTake(uid: number): boolean {
    const mine = join(lockDir, `${uid}.${owner}`);
    try {
      closeSync(openSync(mine, 'wx', 0o600));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false; // ours already
      throw error;
    }
    for (const name of entriesFor(uid, readdirSync(lockDir))) {
      if (name === `${uid}.${owner}`) continue;
      const holder = name.slice(name.indexOf('.') + 1);
      if (isOwnerAlive(holder) || processesRunAs(uid)) {
        unlinkQuietly(mine);
        return false;
      }
      unlinkQuietly(join(lockDir, name));
    }
    return true;
  }

  function lease(uid: number): UidLease {
    const path = join(lockDir, `${uid}.${owner}`);
    return { uid, gid: uid, release: () => unlinkQuietly(path) };
  }

  return {
    range,
    allocate() {
      prepare();
      const size = rangeSize(range);
      for (let attempt = 0; attempt < RANDOM_TRIES; attempt += 1) {
        const uid = range.first + Math.floor(random() * size);
        if (tryTake(uid)) return lease(uid);
      }
      // Held uids are at most the entries there are: walking one more than that from a random
      // start finds a free one, unless the range is full.
      const held = new Set(readdirSync(lockDir).map((name) => Number(name.split('.')[0])));
      const start = Math.floor(random() * size);
      for (let step = 0; step < Math.min(size, held.size + 1 + RANDOM_TRIES); step += 1) {
        const uid = range.first + ((start + step) % size);
        if (!held.has(uid) && tryTake(uid)) return lease(uid);
      }
      throw new AirlockError(
        'LIMIT_REACHED',
        `every uid of sandbox.uidRange ${formatUidRange(range)} is held by a session: end some, or widen the range`,
        { limit: 'uidRange', range: formatUidRange(range) },
      );
    },
    sweep() {
      prepare();
      let removed = 0;
      for (const name of readdirSync(lockDir)) {
        const dot = name.indexOf('.');
        const uid = Number(name.slice(0, dot));
        const holder = name.slice(dot + 1);
        if (dot <= 0 || !Number.isInteger(uid) || isOwnerAlive(holder) || processesRunAs(uid)) continue;
        unlinkQuietly(join(lockDir, name));
        removed += 1;
      }
      return removed;
    },
  };
}

/*
 * Security limitations
 * - The lock directory is trusted: whoever can write it (root, for /run/airlock/uids) can make a
 *   control plane avoid uids or hand out one that is in use.
 * - Only accounts, groups and subordinate ranges in /etc are checked against the range; ids another
 *   tool uses without recording them there (a daemon's own user namespace mapping) are not seen.
 * - Without root the records are per user (see defaultUidLockDir): two users running Docker
 *   sessions from the same range do not see each other's uids.
 */
