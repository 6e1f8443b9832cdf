/**
 * Which control plane owns a session. A session's sandbox dies with its control plane
 * (`--die-with-parent`), so a session whose owner is gone is over, whatever the store still says.
 * The owner is named by pid *and* the process start time so a recycled pid never passes for the owner.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, starttime 22.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return null;
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** This process, as an owner string: `host:pid:starttime`. */
export function currentOwner(): string {
  return `${hostname()}:${process.pid}:${processStartTime(process.pid) ?? '0'}`;
}

/**
 * False only when the owner is certainly gone. An owner on another host cannot be checked from here,
 * so it counts as alive: ending its sessions would interrupt work that may still be running.
 */
export function isOwnerAlive(owner: string): boolean {
  const match = /^(.*):(\d+):(\d+)$/.exec(owner);
  if (!match) return false;
  const [, host, pid, start] = match;
  if (host !== hostname()) return true;
  return processStartTime(Number(pid)) === start;
}
