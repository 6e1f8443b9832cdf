import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { isAirlockError } from '../../../errors/index.ts';
import { dockerUnavailable } from '../../image/index.ts';
import { generatedEtcFiles } from '../../layout/index.ts';
import { buildSeccompFilter, hostSeccompArch } from '../../seccomp/index.ts';
import { sessionName } from '../../state-dir/index.ts';
import { labelKeys } from './plan.ts';
import { createSharedVolume } from './shared-volume.ts';

export interface SharedFiles {
  volume: string;
  etcFiles: { source: string; destination: string }[];
}

export interface SharedFilesVolume {
  get(docker: Docker, image: string): Promise<SharedFiles>;
  /** Removes the volume, if one was made; `dockerOf` gives the daemon's client, if it was reached. */
  remove(dockerOf: () => Promise<Docker | undefined>): Promise<void>;
}

/** One driver's volume of the files every container needs, made once, removed on close. */
export function createSharedFilesVolume(options: {
  helperPath: string;
  host: string;
  state: string;
  socket: string | undefined;
}): SharedFilesVolume {
  const { helperPath, host, state, socket } = options;
  let shared: Promise<SharedFiles> | undefined;

  async function remove(dockerOf: () => Promise<Docker | undefined>): Promise<void> {
    const ready = await shared?.catch(() => undefined);
    const docker = await dockerOf();
    if (ready && docker) {
      await docker
        .getVolume(ready.volume)
        .remove()
        .catch(() => {});
    }
  }

  /**
   * The volume with the files every container needs, filled once per driver. Made on the first
   * create, because the container that carries the files into it needs an image that is present.
   */
  function get(docker: Docker, image: string): Promise<SharedFiles> {
    shared ??= (async () => {
      const session = sessionName(randomBytes(4).toString('hex'));
      const etc = Object.entries(generatedEtcFiles()).map(([destination, content]) => ({
        destination,
        name: `etc_${destination.slice('/etc/'.length)}`,
        data: Buffer.from(content),
      }));
      const volume = await createSharedVolume({
        docker,
        name: `airlock-shared-${session}`,
        labels: {
          [labelKeys.sandbox]: 'shared',
          [labelKeys.session]: session,
          [labelKeys.host]: host,
          [labelKeys.state]: state,
        },
        image,
        files: [
          { name: 'supervisor', data: readFileSync(helperPath), mode: 0o755 },
          { name: 'seccomp.bpf', data: buildSeccompFilter({ arch: hostSeccompArch() }), mode: 0o644 },
          ...etc.map(({ name, data }) => ({ name, data, mode: 0o644 })),
        ],
      }).catch((error: unknown) => {
        throw isAirlockError(error) ? error : dockerUnavailable(error, socket);
      });
      // Bound over the image's own; a bind on /etc/hosts also replaces the one Docker would write.
      const etcFiles = etc.map(({ name, destination }) => ({
        source: join(volume.mountpoint, name),
        destination,
      }));
      return { volume: volume.name, etcFiles };
    })().catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    return shared;
  }

  return { get, remove };
}
