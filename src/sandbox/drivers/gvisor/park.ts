import { randomBytes } from 'node:crypto';
import type { CgroupLimits } from '../../cgroups/index.ts';
import { spawnLauncher } from '../../launcher/index.ts';
import type { ParkedLauncher } from '../../launcher/index.ts';
import { sessionName } from '../../state-dir/index.ts';
import { planParkedLauncher } from './plan.ts';
import type { Prepared } from './prepare.ts';

/** A parked launcher with the name of the session it will become. */
export interface Parked extends ParkedLauncher {
  id: string;
  name: string;
}

/**
 * Makes a session's cgroups and starts a launcher inside them, parked on its instructions fd: runsc
 * and everything it starts are then born inside the session's limits, whenever it is started.
 */
export async function park(ready: Prepared, helperPath: string, limits: CgroupLimits): Promise<Parked> {
  const id = randomBytes(6).toString('hex');
  const name = sessionName(id);
  const cgroup = await ready.cgroups.create(name, limits);
  try {
    const launcher = spawnLauncher(
      planParkedLauncher({ helperPath, cgroupProcsFiles: cgroup.procsFiles, platform: ready.platform }),
    );
    return { id, name, cgroup, launcher };
  } catch (error) {
    await cgroup.remove();
    throw error;
  }
}

export async function discard(parked: Parked): Promise<void> {
  await parked.launcher.abandon();
  await parked.cgroup.remove();
}
