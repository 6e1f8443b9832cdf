import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupLimits, CgroupManager, SessionCgroup } from '../../cgroups/index.ts';
import type { HostUidAllocator, UidLease } from '../../host-uids/index.ts';
import { spawnLauncher } from '../../launcher/index.ts';
import type { Launcher } from '../../launcher/index.ts';
import { sessionName } from '../../state-dir/index.ts';
import { planLauncher } from './plan.ts';

/** A session's cgroups and directory with a launcher inside, waiting for its bwrap argv. */
export interface PendingSandbox {
  id: string;
  name: string;
  dir: string;
  cgroup: SessionCgroup;
  launcher: Launcher;
  /** The session's own host uid; none when the control plane is not root. */
  lease: UidLease | undefined;
}

export interface LaunchInput {
  /** The driver's one-time preparation: what every launcher is started with. */
  prepared: Promise<{ cgroups: CgroupManager; seccomp: Buffer; supervisorPath: string }>;
  helperPath: string;
  sandboxesDir: string;
  /** Host uids for sessions, when the control plane is root. */
  uids: HostUidAllocator | undefined;
  limits: CgroupLimits;
}

/** Makes the session's cgroups and starts its launcher inside them, waiting for instructions. */
export async function launchPending(input: LaunchInput): Promise<PendingSandbox> {
  const { helperPath, sandboxesDir, uids, limits } = input;
  const { cgroups, seccomp, supervisorPath } = await input.prepared;
  const id = randomBytes(6).toString('hex');
  const name = sessionName(id);
  const dir = join(sandboxesDir, name);
  const lease = uids?.allocate();
  let cgroup: SessionCgroup;
  try {
    mkdirSync(dir, { mode: 0o700 });
    cgroup = await cgroups.create(name, limits);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    lease?.release();
    throw error;
  }
  try {
    const plan = planLauncher({
      helperPath,
      supervisorPath,
      cgroupProcsFiles: cgroup.procsFiles,
      ...(lease ? { hostIds: { uid: lease.uid, gid: lease.gid } } : {}),
      seccompFilter: seccomp,
    });
    return { id, name, dir, cgroup, launcher: spawnLauncher(plan), lease };
  } catch (error) {
    await cgroup.remove();
    rmSync(dir, { recursive: true, force: true });
    lease?.release();
    throw error;
  }
}

/** Undoes `launchPending`: the launcher, its cgroups, its directory, and then its uid. */
export async function discardPending(pending: PendingSandbox): Promise<void> {
  await pending.launcher.abandon();
  await pending.cgroup.remove();
  rmSync(pending.dir, { recursive: true, force: true });
  // Only now: with the cgroup gone, no process of this uid is left.
  pending.lease?.release();
}
