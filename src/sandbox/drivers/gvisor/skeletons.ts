import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../../../errors/index.ts';
import { sessionName } from '../../state-dir/index.ts';
import { buildSkeleton } from './rootfs.ts';
import type { Skeleton } from './rootfs.ts';

export interface SkeletonCache {
  /** The skeleton of an image, built on first use and shared by every sandbox of that image. */
  get(image: string, seccompPrograms: Buffer[]): Skeleton;
  /** Keeps the skeletons while a sandbox lives, until `exited`. */
  holdUntil(exited: Promise<void>): void;
  /** Removes every skeleton once no sandbox uses them any more (now, when none does). */
  close(): void;
}

export function createSkeletonCache(options: { skeletonsDir: string; helperPath: string }): SkeletonCache {
  const { skeletonsDir, helperPath } = options;
  const skeletons = new Map<string, Skeleton>();
  let closed = false;
  /** Skeletons are shared by live sandboxes: close() removes them only once none is left. */
  let live = 0;

  function get(image: string, seccompPrograms: Buffer[]): Skeleton {
    const existing = skeletons.get(image);
    if (existing) return existing;
    if (image !== 'host' && !existsSync(join(image, 'usr'))) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `image ${image} is not a rootfs directory (no usr/ in it); use "host" or a directory made by debootstrap`,
        { image },
      );
    }
    const dir = join(skeletonsDir, sessionName(randomBytes(4).toString('hex')));
    try {
      const skeleton = buildSkeleton({ dir, image, helperPath, seccompPrograms });
      skeletons.set(image, skeleton);
      return skeleton;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  function removeAll(): void {
    for (const skeleton of skeletons.values())
      rmSync(join(skeleton.rootfsDir, '..'), { recursive: true, force: true });
    skeletons.clear();
  }

  function holdUntil(exited: Promise<void>): void {
    live += 1;
    // Best effort: a failure to remove the skeletons must not become an unhandled rejection.
    void exited
      .then(() => {
        live -= 1;
        if (closed && live === 0) removeAll();
      })
      .catch(() => {});
  }

  function close(): void {
    closed = true;
    if (live === 0) removeAll();
  }

  return { get, holdUntil, close };
}
