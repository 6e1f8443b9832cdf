import Docker from 'dockerode';
import { AirlockError } from '../../errors/index.ts';

export const DEFAULT_DOCKER_SOCKET = '/var/run/docker.sock';

/**
 * An Engine API client for the daemon on `socketPath`. DOCKER_HOST is deliberately not read here
 * (configuration reaches the library through options only): a remote daemon could not bind-mount the
 * supervisor from this host anyway.
 */
export function connectDocker(socketPath: string = DEFAULT_DOCKER_SOCKET): Docker {
  return new Docker({ socketPath });
}

/** One line with the fix for a daemon that cannot be reached. */
export function dockerUnavailable(error: unknown, socketPath: string = DEFAULT_DOCKER_SOCKET): AirlockError {
  const code = (error as { code?: string }).code;
  const message =
    code === 'ENOENT' || code === 'ECONNREFUSED'
      ? `the Docker daemon is not running (nothing answers on ${socketPath}): start it (systemctl start docker, or dockerd &) or use another driver`
      : code === 'EACCES'
        ? `no permission to use ${socketPath}: run Airlock as root or as a member of the docker group`
        : `the Docker daemon did not answer (${(error as Error).message}): check that dockerd is running, or use another driver`;
  return new AirlockError(
    'SANDBOX_UNAVAILABLE',
    message,
    { driver: 'docker', reason: code ?? 'daemon error' },
    { cause: error },
  );
}
