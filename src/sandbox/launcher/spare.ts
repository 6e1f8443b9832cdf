import { setTimeout as sleep } from 'node:timers/promises';
import type { CgroupLimits, SessionCgroup } from '../cgroups/index.ts';
import type { Launcher } from './launcher.ts';

/** Limits a launcher started ahead of need holds until it is given its session's spec. */
export const parkedLimits: CgroupLimits = { memoryBytes: 16 * 1024 * 1024, cpus: 0.1, pids: 8 };
/** Starting the next spare waits a moment, so it does not compete with the sandbox just handed out. */
const PARK_DELAY_MS = 50;

/** A session's cgroups with a launcher inside them that has not been told what to run yet. */
export interface ParkedLauncher {
  cgroup: SessionCgroup;
  launcher: Launcher;
}

export interface SpareLauncherOptions<T extends ParkedLauncher> {
  /** False keeps no spare: every `take` finds none. */
  enabled: boolean;
  /** Undoes a parked launcher: abandons it and removes what was made for it. */
  discard(parked: T): Promise<void>;
}

/** One launcher kept started ahead of need, so process start and cgroup join are off a create's path. */
export interface SpareLauncher<T extends ParkedLauncher> {
  /** Starts a new spare in the background with `park`, unless one is held or being made. */
  refill(park: (limits: CgroupLimits) => Promise<T>): void;
  /**
   * The spare, its cgroups given the sandbox's limits before it is told to start anything: nothing
   * the sandbox runs ever sees the parked limits. Undefined when none is held.
   */
  take(limits: CgroupLimits): Promise<T | undefined>;
  /** Makes no more spares, waits for one being made and discards the one held. */
  close(): Promise<void>;
}

export function createSpareLauncher<T extends ParkedLauncher>(
  options: SpareLauncherOptions<T>,
): SpareLauncher<T> {
  const { discard } = options;
  let closed = false;
  const closing = new AbortController();
  let spare: T | undefined;
  /** The spare being started, if any; close() waits for it so nothing is started after close. */
  let parking: Promise<void> | undefined;

  return {
    refill(park) {
      if (!options.enabled || closed || spare || parking) return;
      parking = (async () => {
        await sleep(PARK_DELAY_MS, undefined, { ref: false, signal: closing.signal });
        if (closed) return;
        const parked = await park(parkedLimits);
        if (closed || spare) return discard(parked);
        spare = parked;
        // A spare that dies while parked is cleaned up and never handed out.
        void parked.launcher.exited
          .then(() => {
            if (spare !== parked) return;
            spare = undefined;
            return discard(parked);
          })
          .catch(() => {});
      })()
        // Parking is an optimisation: when it fails, the driver starts a launcher on demand and
        // reports the failure itself, with the full error.
        .catch(() => {})
        .finally(() => {
          parking = undefined;
        });
    },
    async take(limits) {
      const parked = spare;
      spare = undefined;
      if (!parked) return undefined;
      try {
        await parked.cgroup.setLimits(limits);
        return parked;
      } catch (error) {
        await discard(parked);
        throw error;
      }
    },
    async close() {
      closed = true;
      // Cancels a spare still waiting to start; one already starting is awaited and discarded.
      closing.abort();
      await parking;
      const parked = spare;
      spare = undefined;
      if (parked) await discard(parked);
    },
  };
}
