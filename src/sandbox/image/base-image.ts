import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import Docker from 'dockerode';
import { AirlockError } from '../../errors/index.ts';
import { generatedEtcFiles } from '../layout/index.ts';
import { debianMirrorFromSources, readAptSources } from './apt-sources.ts';
import { connectDocker, dockerUnavailable } from './docker-connection.ts';

/**
 * What the base image is made of. Its hash is the image tag, so a changed recipe builds a new image
 * and an unchanged one is reused: `airlock image build` is cheap to run again.
 */
export const baseImageRecipe = {
  suite: 'bookworm',
  variant: 'minbase',
  // What the containment suite and an everyday coding agent run, on top of Debian's required set
  // (bash, coreutils, findutils, grep, sed, mawk, perl-base, util-linux, mount, hostname). curl: the
  // tool agents fetch with, through the egress proxy (the egress suite runs it on every driver).
  packages: ['python3', 'procps', 'ca-certificates', 'curl'],
  // Top-level directories an image must not have: the sandbox shows none of a host's private places.
  removedDirs: ['home', 'root', 'var', 'run', 'srv', 'mnt', 'opt', 'boot', 'media'],
  // Account databases and secrets stores; the generated passwd/group replace the accounts.
  removedEtc: [
    'shadow',
    'shadow-',
    'gshadow',
    'gshadow-',
    'passwd-',
    'group-',
    'sudoers',
    'sudoers.d',
    'ssh',
    'machine-id',
  ],
  // Weight no command needs.
  removedUsr: ['share/doc', 'share/man', 'share/info', 'share/lintian'],
  revision: 1,
} as const;

export const BASE_IMAGE_REPOSITORY = 'airlock/base';

/** The tag of the base image this version of Airlock uses. */
export function baseImageTag(): string {
  const hash = createHash('sha256').update(JSON.stringify(baseImageRecipe)).digest('hex').slice(0, 12);
  return `${BASE_IMAGE_REPOSITORY}:${hash}`;
}

export interface BuildBaseImageOptions {
  /** An Engine API client; default: the local daemon (DOCKER_HOST is not read: see docker-connection). */
  docker?: Docker;
  /** Rebuild even when the image exists. */
  force?: boolean;
  /** Debian mirror debootstrap downloads from. Default: the machine's apt source for the suite. */
  mirror?: string;
  /** Scratch space for the rootfs (about 250 MB). Default: the OS temp directory. */
  workDir?: string;
  /** Progress lines (debootstrap's own output included). */
  onProgress?: (line: string) => void;
}

export interface BuildBaseImageResult {
  tag: string;
  /** False when the image already existed and was reused. */
  built: boolean;
  durationMs: number;
}

const debootstrapCandidates = ['/usr/sbin/debootstrap', '/usr/bin/debootstrap'];
const tarPath = '/usr/bin/tar';
const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function findExecutable(candidates: readonly string[]): string | undefined {
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function run(file: string, args: string[], onProgress?: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      shell: false,
      cwd: '/',
      env: { PATH: SYSTEM_PATH, LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const collect = (chunk: Buffer): void => {
      const text = chunk.toString();
      tail = (tail + text).slice(-2000);
      for (const line of text.split('\n')) if (line.trim()) onProgress?.(line);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${file} exited with ${code}: ${tail.trim().split('\n').slice(-3).join(' | ')}`));
    });
  });
}

/** Makes the debootstrapped tree into a sandbox image: no private places, generated accounts. */
function trimRootfs(root: string): void {
  for (const dir of baseImageRecipe.removedDirs) rmSync(join(root, dir), { recursive: true, force: true });
  for (const name of baseImageRecipe.removedEtc)
    rmSync(join(root, 'etc', name), { recursive: true, force: true });
  for (const dir of baseImageRecipe.removedUsr)
    rmSync(join(root, 'usr', dir), { recursive: true, force: true });
  for (const [path, content] of Object.entries(generatedEtcFiles())) {
    writeFileSync(join(root, path), content, { mode: 0o644 });
  }
  // Mount points Airlock uses; the image's root is read-only at run time.
  for (const dir of ['workspace', 'tmp', '.airlock'])
    mkdirSync(join(root, dir), { recursive: true, mode: 0o755 });
  for (const file of ['supervisor', 'seccomp.bpf']) writeFileSync(join(root, '.airlock', file), '');
}

async function imageExists(docker: Docker, tag: string): Promise<boolean> {
  try {
    await docker.getImage(tag).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw dockerUnavailable(error);
  }
}

/** Streams `root` as a tar into the daemon (`docker import`), tagged `tag`. */
async function importRootfs(
  docker: Docker,
  root: string,
  tag: string,
  labels: Record<string, string>,
): Promise<void> {
  const tar = spawn(tarPath, ['--numeric-owner', '--xattrs', '-C', root, '-c', '.'], {
    shell: false,
    cwd: '/',
    env: { PATH: SYSTEM_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tarFailed = new Promise<never>((_, reject) => {
    tar.once('error', reject);
    tar.once('close', (code) => {
      if (code !== 0) reject(new Error(`tar exited with ${code}`));
    });
  });
  const [repo, version] = tag.split(':');
  const changes = Object.entries(labels).map(([key, value]) => `LABEL ${key}=${value}`);
  const output = (await Promise.race([
    docker.importImage(tar.stdout, { repo, tag: version, changes }),
    tarFailed,
  ])) as Readable;
  await Promise.race([
    new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(output, (error: Error | null) => (error ? reject(error) : resolve()));
    }),
    tarFailed,
  ]);
}

/**
 * `airlock image build`: a minimal Debian root made by debootstrap, trimmed to what a sandbox
 * may see, imported into the local Docker daemon as `baseImageTag()`. No registry is involved: the
 * packages come from a Debian mirror. Reused when it already exists, unless `force`.
 */
export async function buildBaseImage(options: BuildBaseImageOptions = {}): Promise<BuildBaseImageResult> {
  const startedAt = performance.now();
  const tag = baseImageTag();
  const docker = options.docker ?? connectDocker();
  if (!options.force && (await imageExists(docker, tag))) {
    return { tag, built: false, durationMs: performance.now() - startedAt };
  }
  const debootstrap = findExecutable(debootstrapCandidates);
  if (!debootstrap) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      'debootstrap is not installed: install it (Debian/Ubuntu: apt-get install debootstrap), then run airlock image build',
      { driver: 'docker', reason: 'debootstrap missing' },
    );
  }
  if (process.getuid?.() !== 0) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      'building the base image needs root (debootstrap): run airlock image build as root',
      {
        driver: 'docker',
        reason: 'not root',
      },
    );
  }
  const mirror = options.mirror ?? debianMirrorFromSources(readAptSources(), baseImageRecipe.suite);
  if (mirror === undefined) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      `no apt source of this machine serves Debian ${baseImageRecipe.suite}: pass the mirror to use, e.g. airlock image build --mirror http://mirror.example/debian`,
      { driver: 'docker', reason: 'no Debian mirror configured' },
    );
  }
  const work = mkdtempSync(join(options.workDir ?? tmpdir(), 'airlock-image-'));
  const root = join(work, 'rootfs');
  try {
    options.onProgress?.(`debootstrap ${baseImageRecipe.suite} into ${root}`);
    await run(
      debootstrap,
      [
        `--variant=${baseImageRecipe.variant}`,
        `--include=${baseImageRecipe.packages.join(',')}`,
        baseImageRecipe.suite,
        root,
        mirror,
      ],
      options.onProgress,
    );
    trimRootfs(root);
    options.onProgress?.(`importing ${tag}`);
    await importRootfs(docker, root, tag, { 'dev.airlock.image': 'base' });
    return { tag, built: true, durationMs: performance.now() - startedAt };
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      `the base image could not be built: ${(error as Error).message}`,
      {
        driver: 'docker',
        reason: 'image build failed',
      },
      { cause: error },
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Imports a rootfs directory as an image, once per directory (the tag is derived from its path). */
export async function importRootfsImage(docker: Docker, dir: string): Promise<string> {
  const tag = `airlock/rootfs:${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`;
  if (await imageExists(docker, tag)) return tag;
  try {
    await importRootfs(docker, dir, tag, { 'dev.airlock.image': 'rootfs' });
  } catch (error) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      `the rootfs ${dir} could not be imported into Docker: ${(error as Error).message}`,
      {
        driver: 'docker',
        reason: 'import failed',
      },
      { cause: error },
    );
  }
  return tag;
}
