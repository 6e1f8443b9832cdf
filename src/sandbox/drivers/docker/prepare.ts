import type Docker from 'dockerode';
import { connectDocker, dockerUnavailable } from '../../image/index.ts';
import { ensurePrivateDir } from '../../state-dir/index.ts';
import { helperMissingMessage, isExecutable } from '../../supervisor/index.ts';
import { dockerSeccompProfile } from './plan.ts';
import type { DockerRuntime } from './plan.ts';
import { unavailable } from './unavailable.ts';

/** Whether a runtime's registration (Engine /info Runtimes entry) passes runsc --host-uds open or all. */
export function allowsHostSockets(registration: unknown): boolean {
  const args = (registration as { runtimeArgs?: unknown } | undefined)?.runtimeArgs;
  return Array.isArray(args) && args.some((arg) => /^--?host-uds=(open|all)$/.test(String(arg)));
}

export interface Prepared {
  docker: Docker;
  profile: string;
  /** The runsc runtime lets sandboxes connect to host Unix sockets (needed for egress). */
  runscHostUds: boolean;
}

/** Checks the helper, the daemon and the runtime, and makes the state directories. */
export async function prepareDocker(input: {
  helperPath: string;
  docker: Docker | undefined;
  socket: string | undefined;
  runtime: DockerRuntime;
  stateDirs: readonly string[];
}): Promise<Prepared> {
  const { helperPath, socket, runtime } = input;
  if (!isExecutable(helperPath)) throw unavailable(helperMissingMessage(helperPath), 'helper missing');
  const docker = input.docker ?? connectDocker(socket);
  let runtimes: Record<string, unknown>;
  try {
    await docker.ping();
    runtimes = ((await docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {};
  } catch (error) {
    throw dockerUnavailable(error, socket);
  }
  if (!(runtime in runtimes)) {
    throw unavailable(
      runtime === 'runsc'
        ? 'the Docker runtime runsc is not registered with the daemon: run runsc install, then reload dockerd (kill -HUP the dockerd process) or use runtime runc'
        : `the Docker runtime ${runtime} is not registered with the daemon (it has ${Object.keys(runtimes).join(', ')})`,
      'runtime not registered',
    );
  }
  for (const dir of input.stateDirs) ensurePrivateDir(dir);
  return { docker, profile: dockerSeccompProfile(), runscHostUds: allowsHostSockets(runtimes['runsc']) };
}
