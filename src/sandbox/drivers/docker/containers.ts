import type Docker from 'dockerode';
import { dockerUnavailable } from '../../image/index.ts';

export function statusOf(error: unknown): number | undefined {
  return (error as { statusCode?: number }).statusCode;
}

/** 404: already gone; 409: not running any more, or being removed already (a teardown, another sweep). */
export function toleratingGone(socket: string | undefined): (error: unknown) => false {
  return (error) => {
    if (statusOf(error) !== 404 && statusOf(error) !== 409) throw dockerUnavailable(error, socket);
    return false;
  };
}

/*
 * Containers end by a kill, then a remove, never by a forced remove alone: a forced remove of a
 * running runsc container can take tens of seconds (measured after a fork bomb), an explicit
 * SIGKILL followed by remove about 100 ms. The sweep of a crashed control plane's containers does
 * the same as a teardown.
 */
export async function killContainer(container: Docker.Container, socket: string | undefined): Promise<void> {
  await container.kill({ signal: 'SIGKILL' }).catch(toleratingGone(socket));
}

/** Whether this call removed it (false: it was gone already or is being removed by someone else). */
export function removeContainer(container: Docker.Container, socket: string | undefined): Promise<boolean> {
  return container.remove({ force: true }).then(() => true, toleratingGone(socket));
}
