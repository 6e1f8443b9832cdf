import { rmSync } from 'node:fs';
import type { SessionCgroup } from '../../cgroups/index.ts';
import type { Launcher } from '../../launcher/index.ts';
import { commandEnvironment } from '../../layout/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { SupervisedSandbox, countSandboxProcesses, processIsolation } from '../../supervisor/index.ts';
import type { SupervisorClient, SupervisorFacts } from '../../supervisor/index.ts';
import type { SandboxSpec } from '../../types.ts';
import type { GvisorPlatform } from './plan.ts';
import { checkpointSandbox } from './snapshots.ts';
import type { CheckpointInput } from './snapshots.ts';

export interface GvisorSandboxParts {
  id: string;
  spec: SandboxSpec;
  client: SupervisorClient;
  /** What the supervisor reported when it started (kept in a checkpoint for a restored one). */
  facts: SupervisorFacts | undefined;
  /** The launcher that became `runsc run`, inside the session's cgroups. */
  launcher: Launcher;
  cgroup: SessionCgroup;
  dir: string;
  shell: { path: string; args: string[] };
  platform: GvisorPlatform;
  captureLimits: CaptureLimits;
  maxFileBytes: number;
  /** Drops runsc's state of the container. */
  deleteContainer(): Promise<void>;
  /** Where `runsc checkpoint` runs and writes for this sandbox. */
  checkpoint: Omit<CheckpointInput, 'meta'>;
}

/**
 * A gVisor sandbox: the shared supervised sandbox over runsc's stdio, measured through the session's
 * host cgroup and its own kernel's /proc, torn down by killing runsc.
 */
export function createGvisorSandbox(parts: GvisorSandboxParts): SupervisedSandbox {
  const { id, spec, client, facts, dir } = parts;
  const session = parts.cgroup;
  const started = parts.launcher;
  const { child } = started;
  // The sentry is the commands' kernel: the host's Yama does not apply to them.
  const processes = processIsolation(facts, { hostUid: null, yamaPtraceScope: null });
  return new SupervisedSandbox({
    id,
    driver: 'gvisor',
    info: { isolation: 'gvisor', platform: parts.platform, ...(processes ? { processes } : {}) },
    spec,
    client,
    exited: started.exited,
    dir,
    shell: parts.shell,
    environment: (execEnv) => commandEnvironment(spec.env, execEnv),
    captureLimits: parts.captureLimits,
    maxFileBytes: parts.maxFileBytes,
    oomKillCount: () => session.oomKillCount(),
    async usage() {
      const [usage, oomKills, pids] = await Promise.all([
        session.stats(),
        session.oomKillCount(),
        // The host cgroup's task count is mostly the sentry's own threads; the sandbox's processes
        // are the ones its own kernel lists.
        countSandboxProcesses(client),
      ]);
      return {
        memoryBytes: usage.memoryBytes,
        memoryPeakBytes: usage.memoryPeakBytes ?? null,
        pids,
        cpuUsageMs: usage.cpuUsageNs / 1e6,
        oomKills,
      };
    },
    async teardown() {
      // runsc was started with the sandbox attached: killing it takes the sentry down; the
      // cgroup removal then kills the gofer and any straggler, and delete drops runsc's state.
      child.kill('SIGKILL');
      await started.exited;
      await session.remove();
      await parts.deleteContainer();
      rmSync(dir, { recursive: true, force: true });
    },
    checkpoint: (nextRequestId) =>
      checkpointSandbox({
        ...parts.checkpoint,
        meta: { spec, platform: parts.platform, resumeAt: nextRequestId, ...(facts ? { facts } : {}) },
      }),
  });
}
