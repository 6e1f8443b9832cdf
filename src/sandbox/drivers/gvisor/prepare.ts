import { createCgroupManager, readCgroupLayout } from '../../cgroups/index.ts';
import type { CgroupManager } from '../../cgroups/index.ts';
import { buildSeccompFilter, hostSeccompArch } from '../../seccomp/index.ts';
import { ensurePrivateDir } from '../../state-dir/index.ts';
import { helperMissingMessage, isExecutable } from '../../supervisor/index.ts';
import { runscCommand } from './plan.ts';
import type { GvisorPlatform } from './plan.ts';
import { choosePlatform } from './platform.ts';
import { findRunsc } from './runsc.ts';
import { unavailable } from './unavailable.ts';

export interface Prepared {
  runscPath: string;
  /** The argv that starts a runsc management call (see `runscCommand`). */
  runscCommand: string[];
  platform: GvisorPlatform;
  cgroups: CgroupManager;
  programs: Buffer[];
}

/** Checks runsc, root and the helper, makes the state directories and picks the platform. */
export async function prepareGvisor(input: {
  helperPath: string;
  runscPath: string | undefined;
  platform: GvisorPlatform | 'auto' | undefined;
  cgroupParent: string | undefined;
  /** Made private first, in order; the platform probe runs in `baseDir`. */
  stateDirs: readonly string[];
  baseDir: string;
}): Promise<Prepared> {
  const { helperPath, baseDir } = input;
  if (process.platform !== 'linux')
    throw unavailable('gVisor runs on Linux only; use another driver', 'not linux');
  const runscPath = findRunsc(input.runscPath);
  if (runscPath === undefined) {
    throw unavailable(
      'gVisor (runsc) is not installed: install it (Debian/Ubuntu: apt-get install runsc) or use another driver',
      'runsc missing',
    );
  }
  if (process.getuid?.() !== 0) {
    throw unavailable(
      'the gVisor driver needs root (runsc creates the sandbox and its cgroups): run Airlock as root or use --driver bwrap',
      'not root',
    );
  }
  if (!isExecutable(helperPath)) {
    throw unavailable(helperMissingMessage(helperPath), 'helper missing');
  }
  for (const dir of input.stateDirs) {
    ensurePrivateDir(dir);
  }
  let platform: GvisorPlatform;
  if (input.platform && input.platform !== 'auto') {
    platform = input.platform;
  } else {
    try {
      platform = (await choosePlatform(runscPath, baseDir)).platform;
    } catch (error) {
      throw unavailable(
        `no gVisor platform starts a sandbox on this machine (${(error as Error).message}); use --driver bwrap`,
        'no platform',
      );
    }
  }
  const arch = hostSeccompArch();
  const cgroups = createCgroupManager({
    layout: await readCgroupLayout(),
    ...(input.cgroupParent === undefined ? {} : { parent: input.cgroupParent }),
  });
  return {
    runscPath,
    runscCommand: runscCommand({ helperPath, runscPath, platform }),
    platform,
    cgroups,
    programs: [buildSeccompFilter({ arch })],
  };
}
