import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import {
  EGRESS_CA_BUNDLE_IN_SANDBOX,
  EGRESS_CA_CERTIFICATE_IN_SANDBOX,
  EGRESS_DIR_IN_SANDBOX,
} from '../../egress-mount.ts';
import { generatedEtcFiles, readHostLayout, readImageLayout } from '../../layout/index.ts';
import { seccompFilesInSandbox, supervisorInSandbox } from './plan.ts';

/** Top-level names Airlock provides itself; an image's own are not used. */
const mountedByAirlock = new Set(['proc', 'dev', 'sys', 'tmp', 'workspace', '.airlock']);

export interface Skeleton {
  /** The read-only root runsc is given. */
  rootfsDir: string;
  /** Host paths bind-mounted read-only into it. */
  binds: { source: string; destination: string }[];
  shell: { path: string; args: string[] };
}

export interface SkeletonInput {
  /** Directory to build in; it must not exist yet. */
  dir: string;
  /** `host` or a rootfs directory. */
  image: string;
  helperPath: string;
  /** Contents of the seccomp programs, in the order of `seccompFilesInSandbox`. */
  seccompPrograms: readonly Buffer[];
}

function ensureDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
}

/**
 * Builds the root a gVisor sandbox starts from: mount points, the image's symlinks, a small /etc
 * (generated accounts and names, plus the host's allowlisted entries copied in) and the supervisor.
 * Everything else comes in as read-only bind mounts. It is built once per driver and image and
 * shared read-only by their sandboxes, so starting one costs no copying.
 */
export function buildSkeleton(input: SkeletonInput): Skeleton {
  const root = join(input.dir, 'root');
  ensureDir(root);
  chmodSync(input.dir, 0o755);
  for (const name of ['proc', 'dev', 'tmp', 'workspace', 'etc', '.airlock']) ensureDir(join(root, name));
  // Mount points of a session's egress files: a read-only root has none to make at start.
  ensureDir(join(root, EGRESS_DIR_IN_SANDBOX));
  for (const file of [EGRESS_CA_CERTIFICATE_IN_SANDBOX, EGRESS_CA_BUNDLE_IN_SANDBOX])
    writeFileSync(join(root, file), '', { mode: 0o644 });
  const binds: Skeleton['binds'] = [];

  if (input.image === 'host') {
    const layout = readHostLayout('/');
    for (const [dir, entry] of Object.entries(layout.systemDirs)) {
      if (!entry) continue;
      if (entry.kind === 'symlink') symlinkSync(entry.target, join(root, dir));
      else if (entry.kind === 'dir') {
        ensureDir(join(root, dir));
        binds.push({ source: dir, destination: dir });
      }
    }
    // Copied, not bound: a few small files and symlinks, and one bind mount less per entry at start.
    for (const name of layout.etcEntries) {
      const target = join(root, 'etc', name);
      ensureDir(dirname(target));
      cpSync(join('/etc', name), target, { recursive: true, verbatimSymlinks: true, dereference: false });
    }
  } else {
    const layout = readImageLayout(input.image);
    for (const [name, entry] of Object.entries(layout.rootEntries)) {
      if (mountedByAirlock.has(name) || name === 'etc') continue;
      const target = join(root, name);
      if (entry.kind === 'symlink') {
        symlinkSync(entry.target, target);
        continue;
      }
      if (entry.kind === 'dir') ensureDir(target);
      else writeFileSync(target, '');
      binds.push({ source: join(input.image, name), destination: `/${name}` });
    }
    // The image's /etc is copied so the generated accounts can replace its own.
    const imageEtc = join(input.image, 'etc');
    if (existsSync(imageEtc) && lstatSync(imageEtc).isDirectory()) {
      for (const name of readdirSync(imageEtc)) {
        cpSync(join(imageEtc, name), join(root, 'etc', name), {
          recursive: true,
          verbatimSymlinks: true,
          dereference: false,
        });
      }
    }
  }
  for (const [path, content] of Object.entries(generatedEtcFiles())) {
    writeFileSync(join(root, path), content, { mode: 0o644 });
  }

  const supervisor = join(root, supervisorInSandbox);
  copyFileSync(input.helperPath, supervisor);
  chmodSync(supervisor, 0o755);
  seccompFilesInSandbox.forEach((path, index) => {
    writeFileSync(join(root, path), input.seccompPrograms[index] ?? Buffer.alloc(0), { mode: 0o644 });
  });
  const shell = input.image === 'host' ? readHostLayout('/').shell : readImageLayout(input.image).shell;
  return { rootfsDir: root, binds, shell };
}
