import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError } from '../../errors/index.ts';
import { errnoOf } from './cgroup-fs.ts';
import type { CgroupFs } from './cgroup-fs.ts';
import type { CgroupWrite } from './plan.ts';

const maxPollIntervalMs = 20;

// Killed tasks are usually gone within a millisecond; start polling fast, then back off.
export function pause(attempt: number): Promise<void> {
  return sleep(Math.min(2 ** attempt, maxPollIntervalMs));
}

function fixFor(errno: string, path: string): string {
  switch (errno) {
    case 'EACCES':
    case 'EPERM':
      return 'run as root, or set sandbox.cgroupParent to a cgroup delegated to this user';
    case 'EROFS':
      return 'the cgroup filesystem is mounted read-only (a container?); mount it read-write or delegate a cgroup';
    case 'ENOENT':
      return 'the kernel does not offer this file: enable the controller (parent cgroup.subtree_control, kernel or boot options) or set sandbox.cgroupParent elsewhere';
    case 'EBUSY':
      return path.endsWith('cgroup.subtree_control')
        ? 'the cgroup holds processes itself (cgroup v2 "no internal processes" rule); move them to a child cgroup or set sandbox.cgroupParent elsewhere'
        : 'the kernel reports the cgroup busy; retry, or remove stale sessions';
    case 'EEXIST':
      return 'a cgroup with this name already exists (a session not cleaned up?); sweep stale sessions or pick another name';
    case 'EINVAL':
      // cgroup v1 refuses a child CPU quota above its parent's: a parent capped below sandbox.cpus.
      return path.endsWith('cpu.cfs_quota_us')
        ? "the kernel refused the CPU quota, which cgroup v1 does when it is above the parent cgroup's own quota: lower sandbox.cpus to the parent's share (cpu.cfs_quota_us / cpu.cfs_period_us of sandbox.cgroupParent) or raise the parent's quota"
        : 'the kernel rejected the value; check the configured limits';
    case 'ENOSPC':
      return 'a cgroup count or depth limit (cgroup.max.descendants/max.depth) is reached';
    case 'ENOTCGROUP':
      return 'the directory is not on a cgroup filesystem; check the detected layout';
    default:
      return 'check that the cgroup hierarchy exists and is writable';
  }
}

export function cgroupFailure(action: string, path: string, error: unknown): AirlockError {
  if (error instanceof AirlockError) return error;
  const errno = errnoOf(error) ?? 'EUNKNOWN';
  return new AirlockError(
    'CGROUP_UNAVAILABLE',
    `Cannot ${action} ${path}: ${errno}; ${fixFor(errno, path)}.`,
    { path, errno },
    { cause: error },
  );
}

export function parseKeyedNumber(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}\\s+(\\d+)$`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number)
    .filter((pid) => Number.isSafeInteger(pid) && pid > 0);
}

/** Reads and writes of cgroup interface files, each failure a CGROUP_UNAVAILABLE that names the fix. */
export interface CgroupFiles {
  readonly fs: CgroupFs;
  /** The path on this machine of a path in the hierarchy (under `fsRoot` in tests). */
  real(path: string): string;
  readText(path: string): Promise<string>;
  readNumber(path: string): Promise<number>;
  write(path: string, value: string): Promise<void>;
  applyWrite(step: CgroupWrite): Promise<void>;
}

export function cgroupFiles(fs: CgroupFs, fsRoot: string | undefined): CgroupFiles {
  const real = (path: string): string => (fsRoot === undefined ? path : join(fsRoot, path));

  async function readText(path: string): Promise<string> {
    try {
      return await fs.readFile(path);
    } catch (error) {
      throw cgroupFailure('read', path, error);
    }
  }

  async function readNumber(path: string): Promise<number> {
    return Number((await readText(path)).trim());
  }

  async function write(path: string, value: string): Promise<void> {
    try {
      await fs.writeFile(path, value);
    } catch (error) {
      throw cgroupFailure(`write "${value}" to`, path, error);
    }
  }

  async function applyWrite(step: CgroupWrite): Promise<void> {
    const path = real(step.path);
    if (step.kind === 'enable-controllers') {
      const enabled = (await readText(path)).split(/\s+/);
      const missing = step.controllers.filter((controller) => !enabled.includes(controller));
      if (missing.length > 0) await write(path, missing.map((controller) => `+${controller}`).join(' '));
      return;
    }
    if (step.optional && !(await fs.exists(path))) {
      if (step.otherwise !== undefined) await write(real(step.otherwise.path), step.otherwise.value);
      return;
    }
    await write(path, step.value);
  }

  return { fs, real, readText, readNumber, write, applyWrite };
}
