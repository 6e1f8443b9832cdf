import { existsSync, readdirSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type Docker from 'dockerode';
import { connectDocker, DEFAULT_DOCKER_SOCKET, dockerUnavailable } from '../../image/index.ts';
import { isStale, sweepStaleDirs } from '../../state-dir/index.ts';
import { killContainer, removeContainer, toleratingGone } from './containers.ts';
import { labelKeys } from './plan.ts';

/** Directories of bind-mounted shared files, from versions before the shared volume. */
const LEGACY_SHARED_PREFIX = 'shared-';

/**
 * The value of `labelKeys.state` for a state directory: which installation made a container. The
 * path itself, so a sweep can tell an installation that still exists (it sweeps its own) from one
 * whose state directory is gone (anyone may sweep what it left). Labels are seen by those who may
 * use the daemon, never inside the container.
 */
export function stateLabel(stateDir: string): string {
  return resolve(stateDir);
}

/**
 * Whether leftovers labelled `label` are this installation's to sweep: its own, an installation's
 * whose state directory is gone (no one else will), or unlabelled ones from before the label
 * (anyone's, as they were then; a label that is no absolute path names no directory either).
 */
function isOurs(label: string | undefined, state: string): boolean {
  return label === undefined || label === state || !label.startsWith('/') || !existsSync(label);
}

export interface DockerSweepOptions {
  stateDir: string;
  dockerSocket?: string;
  docker?: Docker;
}

/**
 * Removes what control planes that are gone left with the daemon and in the state directory: their
 * containers (killed, then removed), their shared volumes, their spool directories. Only what
 * this installation (the same state directory) made on this host is considered, and only what
 * belongs to a dead control plane: the session label carries the owner's pid. Returns how many
 * containers, volumes and directories it removed; throws SANDBOX_UNAVAILABLE when the daemon does
 * not answer.
 */
export async function sweepDockerLeftovers(options: DockerSweepOptions): Promise<number> {
  const socket = options.dockerSocket;
  const docker = options.docker ?? connectDocker(socket ?? DEFAULT_DOCKER_SOCKET);
  const host = hostname();
  const state = stateLabel(options.stateDir);
  const ours = (labels: Record<string, string> | undefined): boolean =>
    labels?.[labelKeys.host] === host &&
    isOurs(labels[labelKeys.state], state) &&
    isStale(labels[labelKeys.session] ?? '');
  let removed = 0;
  let containers: Docker.ContainerInfo[];
  try {
    containers = await docker.listContainers({ all: true, filters: { label: [labelKeys.sandbox] } });
  } catch (error) {
    throw dockerUnavailable(error, socket);
  }
  for (const info of containers) {
    if (!ours(info.Labels)) continue;
    const container = docker.getContainer(info.Id);
    await killContainer(container, socket);
    if (await removeContainer(container, socket)) removed += 1;
  }
  // Shared volumes go after the containers that mount them; one still in use answers 409.
  const { Volumes: volumes } = await docker
    .listVolumes({ filters: { label: [`${labelKeys.sandbox}=shared`] } })
    .catch((error: unknown) => {
      throw dockerUnavailable(error, socket);
    });
  for (const volume of volumes ?? []) {
    if (!ours(volume.Labels)) continue;
    const gone = await docker
      .getVolume(volume.Name)
      .remove()
      .then(() => true, toleratingGone(socket));
    if (gone) removed += 1;
  }
  const baseDir = join(options.stateDir, 'docker');
  removed += sweepStaleDirs(join(baseDir, 'sandboxes'));
  if (existsSync(baseDir)) {
    for (const name of readdirSync(baseDir)) {
      if (name.startsWith(LEGACY_SHARED_PREFIX) && isStale(name.slice(LEGACY_SHARED_PREFIX.length))) {
        rmSync(join(baseDir, name), { recursive: true, force: true });
        removed += 1;
      }
    }
  }
  return removed;
}
