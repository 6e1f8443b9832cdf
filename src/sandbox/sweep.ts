import { existsSync } from 'node:fs';
import { sweepBwrapLeftovers, sweepDockerLeftovers, sweepGvisorLeftovers } from './drivers/index.ts';
import { DEFAULT_DOCKER_SOCKET } from './image/index.ts';
import type { DriverName } from './types.ts';

export interface SweepLeftoversOptions {
  /** The state directory the drivers were given (`AIRLOCK_HOME`). */
  stateDir: string;
  cgroupParent?: string;
  dockerSocket?: string;
  runscPath?: string;
  helperPath?: string;
  /** Longest one driver's sweep may take before it is reported as skipped. Default 15 s. */
  timeoutMs?: number;
}

export type DriverSweepResult =
  | { driver: DriverName; removed: number }
  | { driver: DriverName; removed: 0; skipped: string };

export interface SweepLeftoversResult {
  /** Containers, runsc sandboxes, cgroups, volumes and directories removed, over all drivers. */
  removed: number;
  drivers: DriverSweepResult[];
}

const DEFAULT_TIMEOUT_MS = 15_000;

function withinMs<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * Removes the leftovers of control planes that are gone, for every driver, whichever one this
 * control plane uses: a crashed control plane's Docker containers or gVisor sandboxes would
 * otherwise wait for a later session of that same driver. Meant to run once, at start-up. A driver
 * that is not installed (no daemon socket, no runsc, no cgroup hierarchy) or that fails is reported
 * as skipped with the reason; this never throws. gVisor first (runsc removes its sandboxes cleanly),
 * Docker next, bwrap last: its cgroup sweep also takes the gVisor sessions' cgroups, which share
 * the parent.
 */
export async function sweepLeftovers(options: SweepLeftoversOptions): Promise<SweepLeftoversResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const socket = options.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  const cgroupParent = options.cgroupParent === undefined ? {} : { cgroupParent: options.cgroupParent };
  const sweeps: [DriverName, () => Promise<number>][] = [
    [
      'gvisor',
      () =>
        sweepGvisorLeftovers({
          stateDir: options.stateDir,
          ...(options.runscPath === undefined ? {} : { runscPath: options.runscPath }),
          ...(options.helperPath === undefined ? {} : { helperPath: options.helperPath }),
        }),
    ],
    [
      'docker',
      () => {
        if (!existsSync(socket)) throw new Error(`no Docker daemon here (no ${socket})`);
        return sweepDockerLeftovers({ stateDir: options.stateDir, dockerSocket: socket });
      },
    ],
    ['bwrap', () => sweepBwrapLeftovers({ stateDir: options.stateDir, ...cgroupParent })],
  ];
  const drivers: DriverSweepResult[] = [];
  for (const [driver, sweep] of sweeps) {
    try {
      drivers.push({ driver, removed: await withinMs(Promise.resolve().then(sweep), timeoutMs) });
    } catch (error) {
      drivers.push({ driver, removed: 0, skipped: (error as Error).message });
    }
  }
  return { removed: drivers.reduce((sum, entry) => sum + entry.removed, 0), drivers };
}
