import type { ChildProcess } from 'node:child_process';
import type { SessionCgroup } from '../../cgroups/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import type { SupervisorClient } from '../../supervisor/index.ts';
import { SupervisedSandbox } from '../../supervisor/index.ts';
import type { UidLease } from '../../host-uids/index.ts';
import type { ProcessIsolation, SandboxSpec } from '../../types.ts';
import { commandEnvironment } from '../../layout/index.ts';

export interface BwrapSandboxParts {
  id: string;
  spec: SandboxSpec;
  child: ChildProcess;
  exited: Promise<void>;
  client: SupervisorClient;
  cgroup: SessionCgroup;
  dir: string;
  shell: { path: string; args: string[] };
  captureLimits: CaptureLimits;
  maxFileBytes: number;
  /** The session's own host uid, released once nothing of the sandbox is left. */
  lease: UidLease | undefined;
  processes: ProcessIsolation | undefined;
}

/**
 * A bwrap sandbox: the shared supervised sandbox (commands and files through the in-sandbox
 * supervisor), measured through the session's host cgroup and torn down by killing bwrap.
 */
export function createBwrapSandbox(parts: BwrapSandboxParts): SupervisedSandbox {
  const { child, exited, cgroup, spec } = parts;
  return new SupervisedSandbox({
    id: parts.id,
    driver: 'bwrap',
    info: { isolation: 'bwrap', ...(parts.processes ? { processes: parts.processes } : {}) },
    spec,
    client: parts.client,
    exited,
    dir: parts.dir,
    shell: parts.shell,
    environment: (execEnv) => commandEnvironment(spec.env, execEnv),
    captureLimits: parts.captureLimits,
    maxFileBytes: parts.maxFileBytes,
    usage: async () => {
      const [usage, oomKills] = await Promise.all([cgroup.stats(), cgroup.oomKillCount()]);
      return {
        memoryBytes: usage.memoryBytes,
        memoryPeakBytes: usage.memoryPeakBytes ?? null,
        pids: usage.pids,
        cpuUsageMs: usage.cpuUsageNs / 1e6,
        oomKills,
      };
    },
    oomKillCount: () => cgroup.oomKillCount(),
    teardown: async () => {
      // Killing bwrap ends the sandbox's pid namespace (its init gets SIGKILL via --die-with-parent),
      // which takes every process inside with it; the cgroup sweep below catches any straggler.
      child.kill('SIGKILL');
      await exited;
      await cgroup.remove();
      parts.lease?.release();
    },
  });
}
