import type Docker from 'dockerode';
import { pack } from 'tar-stream';

/**
 * The files every container of a driver needs from the control plane (the supervisor, its seccomp
 * program, the generated /etc files) live in a Docker volume the driver fills once, not in
 * bind-mounted host files: a bind's source is shown in the container's /proc/self/mountinfo, and
 * those sources named the control plane's state directory and install path. A volume's files are
 * shown under the daemon's own data directory instead, and reach the daemon through the Engine
 * API alone.
 */

/** Where the volume appears in a container; the supervisor and its seccomp program are in it. */
export const sharedDirInContainer = '/.airlock';

export interface SharedFile {
  /** Name inside the volume (no directories). */
  name: string;
  data: Buffer;
  mode: number;
}

export interface SharedVolume {
  name: string;
  /** The volume's directory on the daemon's host, for binds of single files out of it. */
  mountpoint: string;
}

/**
 * Mount points in the volume for a session's egress files (egress-mount.ts): the volume is mounted
 * read-only, so none could be made at a container's start.
 */
export const sharedMountPoints = {
  directories: ['egress'],
  files: ['egress-ca.pem', 'egress-ca-bundle.pem'],
} as const;

/** Pure: the files as one tar stream's bytes, owned by root (the agent's uid cannot change them). */
export async function tarOf(
  files: readonly SharedFile[],
  mountPoints: {
    readonly directories: readonly string[];
    readonly files: readonly string[];
  } = sharedMountPoints,
): Promise<Buffer> {
  const archive = pack();
  for (const name of mountPoints.directories) {
    archive.entry({ name, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: new Date(0) });
  }
  for (const name of mountPoints.files) {
    archive.entry({ name, mode: 0o644, uid: 0, gid: 0, mtime: new Date(0) }, Buffer.alloc(0));
  }
  for (const file of files) {
    if (file.name.includes('/') || file.name === '' || file.name.startsWith('.')) {
      throw new RangeError(`a shared file name must be a plain name, got ${JSON.stringify(file.name)}`);
    }
    archive.entry({ name: file.name, mode: file.mode, uid: 0, gid: 0, mtime: new Date(0) }, file.data);
  }
  archive.finalize();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    archive.on('data', (chunk: Buffer) => chunks.push(chunk));
    archive.once('error', reject);
    archive.once('end', () => resolve(Buffer.concat(chunks)));
  });
}

export interface CreateSharedVolumeInput {
  docker: Docker;
  name: string;
  labels: Record<string, string>;
  /** Any image on the daemon: the never-started container that carries the files into the volume. */
  image: string;
  files: readonly SharedFile[];
}

/**
 * Creates the volume and fills it through a container that is created, never started, and removed:
 * the Engine API writes into a volume only through a container's archive call. The carrier has the
 * volume's labels, so a crash midway leaves nothing a sweep would miss.
 */
export async function createSharedVolume(input: CreateSharedVolumeInput): Promise<SharedVolume> {
  const { docker } = input;
  const volume = (await (
    await docker.createVolume({ Name: input.name, Labels: input.labels })
  ).inspect()) as { Name: string; Mountpoint: string };
  try {
    const carrier = await docker.createContainer({
      name: `${input.name}-carrier`,
      Image: input.image,
      Entrypoint: [`${sharedDirInContainer}/none`],
      Labels: input.labels,
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: 'none',
        Mounts: [{ Type: 'volume', Source: volume.Name, Target: sharedDirInContainer }],
        LogConfig: { Type: 'none', Config: {} },
      },
    });
    try {
      await carrier.putArchive(await tarOf(input.files), { path: sharedDirInContainer });
    } finally {
      await carrier.remove({ force: true }).catch(() => {});
    }
  } catch (error) {
    // A volume that was not filled is of no use to anyone: it goes now, not at the next sweep.
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch(() => {});
    throw error;
  }
  return { name: volume.Name, mountpoint: volume.Mountpoint };
}

/*
 * Security limitations
 * - The container's mount table still names the daemon's own paths: the image layers
 *   (/var/lib/docker/overlay2/…), the /etc/hostname Docker writes per container, and this volume's
 *   directory. None of them is the control plane's state directory or install path.
 */
