import { join } from 'node:path';
import { AirlockError } from '../../errors/index.ts';
import { errnoOf } from './cgroup-fs.ts';
import { cgroupFailure, parsePids, pause } from './cgroup-files.ts';
import type { CgroupFiles } from './cgroup-files.ts';
import type { CgroupLocation } from './plan.ts';

const killDeadlineMs = 2_000;
const rmdirDeadlineMs = 2_000;
const freezeDeadlineMs = 500;

export interface SessionProcesses {
  /** Every pid in the session, including in any child cgroups. */
  allPids(): Promise<number[]>;
  /** SIGKILLs every process in the session and waits until none is left. */
  killAll(): Promise<void>;
  /** killAll, then removes the session's directories, deepest first. */
  removeAll(): Promise<void>;
}

/** Finding, killing and removing what is in a session's cgroups, in every hierarchy it has. */
export function sessionProcesses(files: CgroupFiles, location: CgroupLocation): SessionProcesses {
  const { fs, real, readText, write } = files;
  const dirs = location.controllerDirs;
  const sessionDirs = location.sessionDirs.map(real);
  const at = (dir: string, file: string): string => join(real(dir), file);

  /** Child cgroup names; undefined once the cgroup is gone (removed concurrently). */
  async function childCgroups(dir: string): Promise<string[] | undefined> {
    try {
      return await fs.listDirs(dir);
    } catch (error) {
      if (errnoOf(error) === 'ENOENT') return undefined;
      throw cgroupFailure('list', dir, error);
    }
  }

  /**
   * The pids in one cgroup; none once it is gone. A sweep or a kill walks cgroups other work may be
   * removing at the same moment: the file is then missing (ENOENT), or, on cgroup v1, reads of a
   * removed cgroup's file fail with ENODEV. Either way the cgroup holds no process any more.
   */
  async function ownPids(dir: string): Promise<number[]> {
    const file = join(dir, 'cgroup.procs');
    try {
      return parsePids(await fs.readFile(file));
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === 'ENOENT' || errno === 'ENODEV') return [];
      throw cgroupFailure('read', file, error);
    }
  }

  async function collectPids(dir: string): Promise<number[]> {
    const children = await childCgroups(dir);
    if (children === undefined) return [];
    const own = await ownPids(dir);
    const nested = await Promise.all(children.map((child) => collectPids(join(dir, child))));
    return [...own, ...nested.flat()];
  }

  // A process may have joined only some hierarchies; killing must find it in any of them.
  async function allPids(): Promise<number[]> {
    const lists = await Promise.all(sessionDirs.map(collectPids));
    return [...new Set(lists.flat())].sort((a, b) => a - b);
  }

  // Frozen tasks cannot fork or exit, so the pid list read while frozen is complete and no pid in it
  // can be recycled by an unrelated process before the SIGKILL lands.
  async function freeze(): Promise<() => Promise<void>> {
    const noop = async (): Promise<void> => {};
    if (location.version === 2) {
      const file = at(dirs.memory, 'cgroup.freeze');
      if (!(await fs.exists(file))) return noop;
      await write(file, '1');
      await waitUntil(async () => /^frozen 1$/m.test(await readText(at(dirs.memory, 'cgroup.events'))));
      return () => write(file, '0');
    }
    if (dirs.freezer === undefined) return noop;
    const file = at(dirs.freezer, 'freezer.state');
    if (!(await fs.exists(file))) return noop;
    await write(file, 'FROZEN');
    await waitUntil(async () => (await readText(file)).trim() === 'FROZEN');
    // Frozen tasks do not act on SIGKILL until thawed; thawing lets them die without running user code.
    return () => write(file, 'THAWED');
  }

  async function waitUntil(done: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + freezeDeadlineMs;
    for (let attempt = 0; !(await done()) && Date.now() < deadline; attempt += 1) await pause(attempt);
  }

  function sigkill(pid: number): void {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: it exited between listing and killing, which is the goal.
      if (errnoOf(error) !== 'ESRCH') throw cgroupFailure(`kill pid ${pid} in`, sessionDirs[0] ?? '', error);
    }
  }

  async function killAll(): Promise<void> {
    const deadline = Date.now() + killDeadlineMs;
    const killFile = at(dirs.memory, 'cgroup.kill');
    // cgroup.kill (v2, Linux 5.14) kills atomically in the kernel, new forks included.
    if (location.version === 2 && (await fs.exists(killFile))) await write(killFile, '1');
    for (let attempt = 0; ; attempt += 1) {
      let pids = await allPids();
      if (pids.length === 0) return;
      if (Date.now() > deadline) {
        throw new AirlockError(
          'CGROUP_UNAVAILABLE',
          `Processes survived SIGKILL in ${sessionDirs[0] ?? location.name} for ${killDeadlineMs} ms (stuck in the kernel?); the session cgroup cannot be emptied.`,
          { path: sessionDirs[0], pids },
        );
      }
      const thaw = await freeze();
      try {
        pids = await allPids();
        for (const pid of pids) sigkill(pid);
      } finally {
        await thaw();
      }
      await pause(attempt);
    }
  }

  async function rmdirWithRetry(dir: string): Promise<void> {
    const deadline = Date.now() + rmdirDeadlineMs;
    for (let attempt = 0; ; attempt += 1) {
      try {
        await fs.rmdir(dir);
        return;
      } catch (error) {
        const errno = errnoOf(error);
        if (errno === 'ENOENT') return;
        // Killed tasks leave the cgroup asynchronously; rmdir reports EBUSY until they have.
        if (errno !== 'EBUSY' || Date.now() > deadline) throw cgroupFailure('remove', dir, error);
        await pause(attempt);
      }
    }
  }

  async function descendantsDeepestFirst(dir: string): Promise<string[]> {
    const children = await childCgroups(dir);
    if (children === undefined) return [];
    const nested = await Promise.all(children.map((child) => descendantsDeepestFirst(join(dir, child))));
    return [...nested.flat(), dir];
  }

  async function removeAll(): Promise<void> {
    await killAll();
    for (const dir of sessionDirs) {
      for (const target of await descendantsDeepestFirst(dir)) await rmdirWithRetry(target);
    }
  }

  return { allPids, killAll, removeAll };
}
