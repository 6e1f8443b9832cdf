import { join } from 'node:path';
import { createCgroupManager, readCgroupLayout } from '../../cgroups/index.ts';
import type { CgroupManager } from '../../cgroups/index.ts';
import { isStale, sweepStaleDirs } from '../../state-dir/index.ts';

export interface BwrapSweepOptions {
  stateDir: string;
  cgroupParent?: string;
  /** The driver's own manager, when it has one already. */
  cgroups?: CgroupManager;
}

/**
 * Removes what control planes that are gone left of their bwrap sandboxes: spool directories under
 * `stateDir` and session cgroups under the cgroup parent (removing a cgroup kills what still runs
 * in it). The gVisor driver's sessions use the same parent and names, so their cgroups go too.
 */
export async function sweepBwrapLeftovers(options: BwrapSweepOptions): Promise<number> {
  let removed = sweepStaleDirs(join(options.stateDir, 'sandboxes'));
  const cgroups =
    options.cgroups ??
    createCgroupManager({
      layout: await readCgroupLayout(),
      ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    });
  removed += (await cgroups.sweep(isStale)).length;
  return removed;
}
