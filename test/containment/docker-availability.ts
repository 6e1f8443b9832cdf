import { existsSync } from 'node:fs';
import { baseImageTag, connectDocker } from '../../src/sandbox/image/index.ts';

/** Why the Docker driver cannot run here (with `runtime`), or undefined when it can. */
export async function dockerAvailability(runtime: 'runc' | 'runsc'): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'not Linux';
  if (!existsSync('/var/run/docker.sock'))
    return 'the Docker daemon is not running (no /var/run/docker.sock)';
  const docker = connectDocker();
  try {
    const info = (await docker.info()) as { Runtimes?: Record<string, unknown> };
    if (!(runtime in (info.Runtimes ?? {}))) return `the Docker runtime ${runtime} is not registered`;
  } catch (error) {
    return `the Docker daemon does not answer: ${(error as Error).message}`;
  }
  try {
    await docker.getImage(baseImageTag()).inspect();
  } catch {
    return `the base image ${baseImageTag()} is missing (run airlock image build)`;
  }
  return undefined;
}
