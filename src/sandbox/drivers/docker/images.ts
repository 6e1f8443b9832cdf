import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { AirlockError } from '../../../errors/index.ts';
import { baseImageTag, dockerUnavailable, importRootfsImage } from '../../image/index.ts';
import { statusOf } from './containers.ts';
import { unavailable } from './unavailable.ts';

/**
 * The image a spec names, checked to be on this machine: a rootfs directory (imported once), the
 * base image for `host`, or a local image reference. One lookup per image and driver.
 */
export function createImageResolver(options: {
  baseImage: string | undefined;
  socket: string | undefined;
}): (specImage: string, docker: Docker) => Promise<string> {
  const { socket } = options;
  const images = new Map<string, Promise<string>>();
  return function imageFor(specImage: string, docker: Docker): Promise<string> {
    let found = images.get(specImage);
    if (!found) {
      found = (async () => {
        if (specImage.startsWith('/')) {
          if (!existsSync(join(specImage, 'usr'))) {
            throw new AirlockError(
              'INVALID_ARGUMENT',
              `image ${specImage} is not a rootfs directory (no usr/ in it); use "host" or a directory made by debootstrap`,
              { image: specImage },
            );
          }
          return importRootfsImage(docker, specImage);
        }
        // `host` is the base image; anything else not a path is a local image reference (no registry
        // is ever asked: pulling at session start would hand the choice of image to the network).
        const tag = specImage === 'host' ? (options.baseImage ?? baseImageTag()) : specImage;
        try {
          await docker.getImage(tag).inspect();
        } catch (error) {
          if (statusOf(error) === 404) {
            throw unavailable(
              specImage === 'host'
                ? `the Docker image ${tag} is missing: build it with airlock image build`
                : `the Docker image ${tag} is not on this machine (Airlock never pulls): docker pull or build it first`,
              'image missing',
            );
          }
          throw dockerUnavailable(error, socket);
        }
        return tag;
      })();
      images.set(specImage, found);
      found.catch(() => images.delete(specImage));
    }
    return found;
  };
}
