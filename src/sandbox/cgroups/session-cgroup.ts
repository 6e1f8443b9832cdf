import { join } from 'node:path';
import { parseKeyedNumber } from './cgroup-files.ts';
import type { CgroupFiles } from './cgroup-files.ts';
import { sessionProcesses } from './session-processes.ts';
import type { CgroupLayout } from './detect.ts';
import { planSessionCgroup } from './plan.ts';
import type { CgroupLimits, CgroupLocation, CgroupWrite } from './plan.ts';

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

export function openSessionCgroup(
  files: CgroupFiles,
  layout: CgroupLayout,
  parent: string,
  location: CgroupLocation,
): SessionCgroup {
  const { fs, real, readText, readNumber, applyWrite } = files;
  const dirs = location.controllerDirs;
  const at = (dir: string, file: string): string => join(real(dir), file);

  const { allPids, killAll, removeAll } = sessionProcesses(files, location);

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
    remove: removeAll,
  };
}
