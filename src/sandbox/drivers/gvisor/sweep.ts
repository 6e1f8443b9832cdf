import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../../../errors/index.ts';
import { createCgroupManager, readCgroupLayout } from '../../cgroups/index.ts';
import { defaultHelperPath } from '../../supervisor/index.ts';
import { isStale, sweepStaleDirs } from '../../state-dir/index.ts';
import { runscCommand } from './plan.ts';
import { findRunsc, runscQuiet } from './runsc.ts';

/** Every runsc container this driver makes is named `airlock-<control plane pid>-<sandbox id>`. */
export const CONTAINER_PREFIX = 'airlock-';

export interface GvisorSweepOptions {
  stateDir: string;
  cgroupParent?: string;
  runscPath?: string;
  helperPath?: string;
  /** Also remove stale session cgroups (the bwrap sweep removes the same ones when it runs too). */
  cgroups?: boolean;
}

/**
 * Removes what control planes that are gone left of their gVisor sandboxes under `stateDir`: runsc
 * containers (runsc delete --force kills a sandbox still running and drops its state), bundles and
 * spools, image skeletons, and optionally the session cgroups. Needs root and runsc only when there
 * is something to sweep; throws SANDBOX_UNAVAILABLE when there is and they are missing.
 */
export async function sweepGvisorLeftovers(options: GvisorSweepOptions): Promise<number> {
  const baseDir = join(options.stateDir, 'gvisor');
  let removed = 0;
  const runscRoot = join(baseDir, 'runsc');
  // runsc keeps a state file per container in its root: an empty root has nothing to list.
  if (existsSync(runscRoot) && readdirSync(runscRoot).length > 0) {
    const runscPath = findRunsc(options.runscPath);
    if (runscPath === undefined || process.getuid?.() !== 0) {
      throw new AirlockError(
        'SANDBOX_UNAVAILABLE',
        `gVisor leftovers under ${baseDir} need root and runsc to be removed`,
        { driver: 'gvisor', reason: runscPath === undefined ? 'runsc missing' : 'not root' },
      );
    }
    // A management call needs no platform; the launcher still spares runsc the membarrier wait.
    const command = runscCommand({
      helperPath: options.helperPath ?? defaultHelperPath,
      runscPath,
      platform: 'systrap',
    });
    const listed = await runscQuiet(command, [`--root=${runscRoot}`, 'list', '--quiet']);
    for (const containerId of listed.stdout.split('\n').map((line) => line.trim())) {
      if (!containerId.startsWith(CONTAINER_PREFIX)) continue;
      if (!isStale(containerId.slice(CONTAINER_PREFIX.length))) continue;
      await runscQuiet(command, [`--root=${runscRoot}`, 'delete', '--force', containerId]);
      removed += 1;
    }
  }
  if (options.cgroups === true) {
    const cgroups = createCgroupManager({
      layout: await readCgroupLayout(),
      ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    });
    removed += (await cgroups.sweep(isStale)).length;
  }
  removed += sweepStaleDirs(join(baseDir, 'sandboxes'));
  sweepStaleDirs(join(baseDir, 'images'));
  return removed;
}
