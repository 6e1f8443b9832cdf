import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { AirlockError } from '../../errors/index.ts';
import { errnoOf, nodeCgroupFs } from './cgroup-fs.ts';
import type { CgroupFs } from './cgroup-fs.ts';
import type { CgroupLayout } from './detect.ts';
import { planCgroupLocation, planParentDirs, planSessionCgroup, validateCgroupName } from './plan.ts';
import type { CgroupLimits, CgroupLocation, CgroupWrite } from './plan.ts';

export interface CgroupManagerOptions {
  readonly layout: CgroupLayout;
  /** Prefix for every cgroup path; tests point it at a temp tree standing in for /sys/fs/cgroup. */
  readonly fsRoot?: string;
  /** Parent cgroup relative to the hierarchy root (`sandbox.cgroupParent`). */
  readonly parent?: string;
  /** Filesystem calls; defaults to node:fs. Tests pass a cgroupfs emulation. */
  readonly fs?: CgroupFs;
}

export interface CgroupStats {
  readonly memoryBytes: number;
  /** High-water mark; absent on v2 kernels before 5.19 (no memory.peak). */
  readonly memoryPeakBytes?: number;
  readonly pids: number;
  readonly cpuUsageNs: number;
}

export interface SessionCgroup {
  readonly name: string;
  readonly version: 1 | 2;
  /** Absolute `cgroup.procs` paths; a process joins the session by writing its own pid into each. */
  readonly procsFiles: readonly string[];
  stats(): Promise<CgroupStats>;
  /** Rewrites the limits, e.g. when a launcher started ahead of need is given its session's spec. */
  setLimits(limits: CgroupLimits): Promise<void>;
  /** OOM kills inside the session so far (0 on v1 kernels before 4.13, which do not count them). */
  oomKillCount(): Promise<number>;
  /** Every pid in the session, including in any child cgroups. */
  pids(): Promise<number[]>;
  /** SIGKILLs every process in the session and waits until none is left (about 2 s at most). */
  killAll(): Promise<void>;
  /** killAll, then removes the session's directories. Safe to call again. */
  remove(): Promise<void>;
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** The resolved parent, relative to the hierarchy root. */
  readonly parent: string;
  create(name: string, limits: CgroupLimits): Promise<SessionCgroup>;
  /** Removes every session under the parent whose name isStale accepts; returns the removed names. */
  sweep(isStale: (name: string) => boolean): Promise<string[]>;
}

const killDeadlineMs = 2_000;
const rmdirDeadlineMs = 2_000;
const freezeDeadlineMs = 500;
const maxPollIntervalMs = 20;

// Killed tasks are usually gone within a millisecond; start polling fast, then back off.
function pause(attempt: number): Promise<void> {
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
      return 'the kernel rejected the value; check the configured limits';
    case 'ENOSPC':
      return 'a cgroup count or depth limit (cgroup.max.descendants/max.depth) is reached';
    case 'ENOTCGROUP':
      return 'the directory is not on a cgroup filesystem; check the detected layout';
    default:
      return 'check that the cgroup hierarchy exists and is writable';
  }
}

function cgroupFailure(action: string, path: string, error: unknown): AirlockError {
  if (error instanceof AirlockError) return error;
  const errno = errnoOf(error) ?? 'EUNKNOWN';
  return new AirlockError(
    'CGROUP_UNAVAILABLE',
    `Cannot ${action} ${path}: ${errno}; ${fixFor(errno, path)}.`,
    { path, errno },
    { cause: error },
  );
}

function parseKeyedNumber(text: string, key: string): number | undefined {
  const match = new RegExp(`^${key}\\s+(\\d+)$`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function parsePids(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number)
    .filter((pid) => Number.isSafeInteger(pid) && pid > 0);
}

export function createCgroupManager(options: CgroupManagerOptions): CgroupManager {
  const { layout } = options;
  const fs = options.fs ?? nodeCgroupFs;
  const fsRoot = options.fsRoot;
  const real = (path: string): string => (fsRoot === undefined ? path : join(fsRoot, path));
  // Resolved now so a non-delegated, non-root control plane fails at start-up, not on first session.
  const { parent, parentDirs } = planParentDirs(layout, options.parent);

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

  function sessionHandle(location: CgroupLocation): SessionCgroup {
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

    async function collectPids(dir: string): Promise<number[]> {
      const children = await childCgroups(dir);
      if (children === undefined) return [];
      const own = parsePids(await readText(join(dir, 'cgroup.procs')));
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
        if (errnoOf(error) !== 'ESRCH')
          throw cgroupFailure(`kill pid ${pid} in`, sessionDirs[0] ?? '', error);
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

    return {
      name: location.name,
      version: location.version,
      procsFiles: location.procsFiles.map(real),
      async stats(): Promise<CgroupStats> {
        if (location.version === 2) {
          const peakFile = at(dirs.memory, 'memory.peak');
          const [memoryBytes, peak, pids, cpuStat] = await Promise.all([
            readNumber(at(dirs.memory, 'memory.current')),
            fs.exists(peakFile).then((present) => (present ? readNumber(peakFile) : undefined)),
            readNumber(at(dirs.pids, 'pids.current')),
            readText(at(dirs.cpu, 'cpu.stat')),
          ]);
          const cpuUsageNs = (parseKeyedNumber(cpuStat, 'usage_usec') ?? 0) * 1000;
          return { memoryBytes, pids, cpuUsageNs, ...(peak === undefined ? {} : { memoryPeakBytes: peak }) };
        }
        const [memoryBytes, memoryPeakBytes, pids, cpuUsageNs] = await Promise.all([
          readNumber(at(dirs.memory, 'memory.usage_in_bytes')),
          readNumber(at(dirs.memory, 'memory.max_usage_in_bytes')),
          readNumber(at(dirs.pids, 'pids.current')),
          readNumber(at(dirs.cpuacct, 'cpuacct.usage')),
        ]);
        return { memoryBytes, memoryPeakBytes, pids, cpuUsageNs };
      },
      async oomKillCount(): Promise<number> {
        // v1 kernels before 4.13 have no oom_kill line; they report 0 rather than guessing from failcnt,
        // which counts every time the limit was hit, reclaimed-from or not.
        const file = location.version === 2 ? 'memory.events' : 'memory.oom_control';
        return parseKeyedNumber(await readText(at(dirs.memory, file)), 'oom_kill') ?? 0;
      },
      async setLimits(limits: CgroupLimits): Promise<void> {
        const plan = planSessionCgroup(layout, { name: location.name, parent, limits });
        let writes = plan.writes.filter((step) => step.kind === 'set');
        if (location.version === 1) {
          // memsw >= memory must hold at every moment: when the limit grows, memsw has to grow first.
          const current = await readNumber(at(dirs.memory, 'memory.limit_in_bytes'));
          if (limits.memoryBytes > current) {
            const isMemsw = (step: CgroupWrite): boolean => step.path.endsWith('memory.memsw.limit_in_bytes');
            writes = [...writes.filter(isMemsw), ...writes.filter((step) => !isMemsw(step))];
          }
        }
        for (const step of writes) await applyWrite(step);
      },
      pids: allPids,
      killAll,
      async remove(): Promise<void> {
        await killAll();
        for (const dir of sessionDirs) {
          for (const target of await descendantsDeepestFirst(dir)) await rmdirWithRetry(target);
        }
      },
    };
  }

  async function create(name: string, limits: CgroupLimits): Promise<SessionCgroup> {
    const plan = planSessionCgroup(layout, { name, parent, limits });
    const created: string[] = [];
    try {
      for (const dir of plan.dirs) {
        const path = real(dir.path);
        try {
          await fs.mkdir(path);
          created.push(path);
        } catch (error) {
          // Parents are shared; a session dir that exists belongs to someone else and must not be reused.
          if (dir.kind === 'parent' && errnoOf(error) === 'EEXIST') continue;
          throw cgroupFailure('create', path, error);
        }
        // On cgroupfs mkdir makes the interface files; their absence means we are not on cgroupfs, and
        // limits written there would be decoration.
        if (dir.kind === 'session' && !(await fs.exists(join(path, 'cgroup.procs')))) {
          throw cgroupFailure('use', path, Object.assign(new Error('not a cgroup'), { code: 'ENOTCGROUP' }));
        }
      }
      for (const step of plan.writes) await applyWrite(step);
    } catch (error) {
      const leftovers: string[] = [];
      for (const path of created.reverse()) {
        try {
          await fs.rmdir(path);
        } catch (cleanupError) {
          // A shared parent may have gained another session meanwhile; that is not a leftover of ours.
          const errno = errnoOf(cleanupError);
          if (errno !== 'ENOTEMPTY' && errno !== 'EBUSY' && errno !== 'ENOENT') leftovers.push(path);
        }
      }
      const failure = cgroupFailure('set up', plan.sessionDirs[0] ?? name, error);
      throw leftovers.length === 0
        ? failure
        : new AirlockError(
            failure.code,
            failure.message,
            { ...failure.details, leftovers },
            { cause: error },
          );
    }
    return sessionHandle(plan);
  }

  async function sweep(isStale: (name: string) => boolean): Promise<string[]> {
    const names = new Set<string>();
    for (const dir of parentDirs.map(real)) {
      let children: string[] = [];
      try {
        children = await fs.listDirs(dir);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw cgroupFailure('list', dir, error);
      }
      for (const child of children) {
        try {
          validateCgroupName(child);
          names.add(child);
        } catch {
          // Not a name Airlock could have created, so not ours to remove.
        }
      }
    }
    const removed: string[] = [];
    const failures: AirlockError[] = [];
    for (const name of [...names].sort()) {
      if (!isStale(name)) continue;
      try {
        await sessionHandle(planCgroupLocation(layout, { name, parent })).remove();
        removed.push(name);
      } catch (error) {
        failures.push(cgroupFailure('sweep', name, error));
      }
    }
    const [first] = failures;
    if (first !== undefined) {
      throw new AirlockError(
        'CGROUP_UNAVAILABLE',
        `Sweep removed ${removed.length} stale session cgroups but failed on ${failures.length}: ${first.message}`,
        { ...first.details, removed, failed: failures.map((failure) => failure.details) },
      );
    }
    return removed;
  }

  return { layout, parent, create, sweep };
}

/*
 * Security limitations
 * - Sessions live under `<root>/airlock`, beside (not inside) the control plane's own cgroup, so the
 *   control plane's limits do not cap the sum of its sessions; size the host or set cgroupParent.
 * - Joining is the caller's job: a process that forks before writing its pid into every procsFile has
 *   children outside the limits. The sandbox helper must join itself before exec'ing the command.
 * - v1 without a freezer hierarchy, and v2 before 5.14 (no cgroup.kill) without cgroup.freeze, kill by
 *   reading pids then signalling: a pid could be recycled in between and an unrelated process killed.
 * - v2 without memory.swap.max (no swap accounting) cannot stop a session swapping past memory.max;
 *   v1 without memsw falls back to swappiness 0, which discourages but does not forbid swap.
 * - memory.oom.group stays 0: the OOM killer kills the biggest process, not the command's whole tree,
 *   so a command's children may survive until the command's timeout kills its tree.
 * - No io/blkio limits: disk bandwidth is shared; the scratch size limit lives in the rootfs layer.
 * - Limits hold only while the session cannot write cgroupfs: the sandbox must not mount it writable
 *   nor keep CAP_SYS_ADMIN, or a process could move itself out.
 */
