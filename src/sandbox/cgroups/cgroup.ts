import { join } from 'node:path';
import { AirlockError } from '../../errors/index.ts';
import { errnoOf, nodeCgroupFs } from './cgroup-fs.ts';
import type { CgroupFs } from './cgroup-fs.ts';
import { cgroupFailure, cgroupFiles } from './cgroup-files.ts';
import type { CgroupLayout } from './detect.ts';
import { planCgroupLocation, planParentDirs, planSessionCgroup, validateCgroupName } from './plan.ts';
import type { CgroupLimits, CgroupLocation } from './plan.ts';
import { openSessionCgroup } from './session-cgroup.ts';
import type { SessionCgroup } from './session-cgroup.ts';

export interface CgroupManagerOptions {
  readonly layout: CgroupLayout;
  /** Prefix for every cgroup path; tests point it at a temp tree standing in for /sys/fs/cgroup. */
  readonly fsRoot?: string;
  /** Parent cgroup relative to the hierarchy root (`sandbox.cgroupParent`). */
  readonly parent?: string;
  /** Filesystem calls; defaults to node:fs. Tests pass a cgroupfs emulation. */
  readonly fs?: CgroupFs;
}

export interface CgroupManager {
  readonly layout: CgroupLayout;
  /** The resolved parent, relative to the hierarchy root. */
  readonly parent: string;
  create(name: string, limits: CgroupLimits): Promise<SessionCgroup>;
  /** Removes every session under the parent whose name isStale accepts; returns the removed names. */
  sweep(isStale: (name: string) => boolean): Promise<string[]>;
}

export function createCgroupManager(options: CgroupManagerOptions): CgroupManager {
  const { layout } = options;
  const files = cgroupFiles(options.fs ?? nodeCgroupFs, options.fsRoot);
  const { fs, real, applyWrite } = files;
  // Resolved now so a non-delegated, non-root control plane fails at start-up, not on first session.
  const { parent, parentDirs } = planParentDirs(layout, options.parent);
  const sessionHandle = (location: CgroupLocation): SessionCgroup =>
    openSessionCgroup(files, layout, parent, location);

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
