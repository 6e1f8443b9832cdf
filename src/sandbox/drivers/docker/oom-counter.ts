import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Finds the host file counting OOM kills in a container's memory cgroup, from its first process's
 * /proc/<pid>/cgroup (read from the host's cgroup namespace, so the path is the full one). The
 * Engine's stats API has no OOM-kill count, and reading one file per command is far cheaper than
 * an API round trip. Undefined when the cgroup cannot be seen (a daemon on another host).
 */
export function oomCounterFile(hostPid: number, cgroupRoot = '/sys/fs/cgroup'): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${hostPid}/cgroup`, 'utf8').trim().split('\n');
  } catch {
    return undefined;
  }
  for (const line of lines) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers?.split(',').includes('memory'))
      return join(cgroupRoot, 'memory', path, 'memory.oom_control');
  }
  const unified = lines.find((line) => line.startsWith('0::'));
  return unified ? join(cgroupRoot, unified.slice(3), 'memory.events') : undefined;
}

/** The `oom_kill` count in a v1 memory.oom_control or v2 memory.events file; 0 when unreadable. */
export async function readOomKills(file: string | undefined): Promise<number> {
  if (!file) return 0;
  try {
    const match = /^oom_kill (\d+)$/m.exec(await readFile(file, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}
