import type { SupervisorClient } from './client.ts';

/** /proc of a sandbox holds its processes plus ~60 fixed entries; the pids limit bounds the rest. */
export const MAX_PROC_ENTRIES = 100_000;

/**
 * The sandbox's processes as its own kernel lists them (the numeric entries of its /proc). Under
 * gVisor the host cgroup's task count is mostly the sentry's own threads, so that count is not it.
 */
export async function countSandboxProcesses(client: SupervisorClient): Promise<number> {
  const entries = await client.list('/proc', MAX_PROC_ENTRIES);
  return entries.filter((entry) => entry.kind === 'directory' && /^\d+$/.test(entry.name)).length;
}
