/**
 * The three sandbox drivers, each with why it cannot run on this machine (undefined when it can), for
 * suites that run the same tests on every driver.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dockerAvailability } from '../containment/docker-availability.ts';

export interface DriverAvailability {
  readonly name: 'bwrap' | 'gvisor' | 'docker';
  readonly unavailable: string | undefined;
}

export async function driverAvailability(): Promise<readonly DriverAvailability[]> {
  const bwrapMissing = spawnSync('bwrap', ['--version']).status !== 0;
  const runscMissing = ['/usr/bin/runsc', '/usr/local/bin/runsc', '/usr/sbin/runsc'].every(
    (path) => !existsSync(path),
  );
  return [
    { name: 'bwrap', unavailable: bwrapMissing ? 'bwrap is not installed' : undefined },
    {
      name: 'gvisor',
      unavailable: runscMissing
        ? 'runsc is not installed'
        : process.getuid?.() !== 0
          ? 'gVisor needs root'
          : undefined,
    },
    { name: 'docker', unavailable: await dockerAvailability('runc') },
  ];
}
