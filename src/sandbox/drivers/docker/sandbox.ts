import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { AirlockError } from '../../../errors/index.ts';
import type { UidLease } from '../../host-uids/index.ts';
import { commandEnvironment, shellFor } from '../../layout/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import {
  SupervisedSandbox,
  countSandboxProcesses,
  processIsolation,
  readYamaPtraceScope,
} from '../../supervisor/index.ts';
import type { SupervisorClient } from '../../supervisor/index.ts';
import type { SandboxSpec } from '../../types.ts';
import { killContainer, removeContainer } from './containers.ts';
import { readOomKills } from './oom-counter.ts';
import type { DockerRuntime } from './plan.ts';

export interface DockerSandboxParts {
  id: string;
  spec: SandboxSpec;
  runtime: DockerRuntime;
  image: string;
  client: SupervisorClient;
  container: Docker.Container;
  /** The attached stream of the container's stdio. */
  stream: Duplex;
  exited: Promise<void>;
  dir: string;
  /** The session's own host uid under runc, released once the container is removed. */
  lease: UidLease | undefined;
  oomFile: string | undefined;
  socket: string | undefined;
  captureLimits: CaptureLimits;
  maxFileBytes: number;
  /** Called once the container is removed (or its removal failed). */
  removed(): Promise<void>;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * A Docker sandbox: the shared supervised sandbox over the container's attached stdio, measured
 * through the Engine's stats API and torn down by a kill and a remove of the container.
 */
export function createDockerSandbox(parts: DockerSandboxParts): SupervisedSandbox {
  const { id, spec, runtime, image, client, exited, dir, lease, oomFile, socket } = parts;
  const started = parts.container;
  const attached = parts.stream;
  const layoutShell =
    spec.image === 'host'
      ? { path: '/usr/bin/bash', args: ['--noprofile', '--norc', '-c'] }
      : spec.image.startsWith('/')
        ? shellFor(spec.image)
        : // An image reference: /bin/sh is the one shell every image that can run commands has.
          { path: '/bin/sh', args: ['-c'] };
  return new SupervisedSandbox({
    id,
    driver: 'docker',
    info: {
      isolation: `docker/${runtime}`,
      runtime,
      image,
      ...optional(
        'processes',
        // Under runsc the commands' kernel is the sentry's, which has no Yama.
        processIsolation(
          client.facts,
          runtime === 'runsc'
            ? { hostUid: null, yamaPtraceScope: null }
            : { hostUid: lease?.uid ?? null, yamaPtraceScope: readYamaPtraceScope() },
        ),
      ),
    },
    spec,
    client,
    exited,
    dir,
    shell: layoutShell,
    environment: (execEnv) => commandEnvironment(spec.env, execEnv),
    captureLimits: parts.captureLimits,
    maxFileBytes: parts.maxFileBytes,
    oomKillCount: () => readOomKills(oomFile),
    async usage() {
      let stats: Docker.ContainerStats;
      try {
        stats = await started.stats({ stream: false, 'one-shot': true });
      } catch (error) {
        throw new AirlockError(
          'SANDBOX_LOST',
          `the container's statistics are gone: ${(error as Error).message}`,
          {},
          { cause: error },
        );
      }
      const memory = stats.memory_stats as { usage?: number; max_usage?: number };
      // Under runsc the cgroup's task count is mostly the sentry's threads; the sandbox's own
      // processes are the ones its kernel lists.
      const pids =
        runtime === 'runsc'
          ? await countSandboxProcesses(client)
          : ((stats.pids_stats as { current?: number } | undefined)?.current ?? 0);
      return {
        memoryBytes: memory.usage ?? 0,
        memoryPeakBytes: memory.max_usage ?? null,
        pids,
        cpuUsageMs: (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e6,
        oomKills: await readOomKills(oomFile),
      };
    },
    async teardown() {
      try {
        await killContainer(started, socket);
        attached.destroy();
        await removeContainer(started, socket);
        // The container is gone, and every process of its uid with it.
        lease?.release();
      } finally {
        await parts.removed();
      }
    },
  });
}
