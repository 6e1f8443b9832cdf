/**
 * A cgroup v2 filesystem emulated in a temp directory, for running the real cgroup manager where no
 * writable cgroup2 exists. It mimics the kernel behaviour the manager relies on: mkdir creates the
 * interface files of the controllers the parent enabled, writing subtree_control adds or removes
 * controller files in the children, writes never create files, rmdir refuses populated cgroups, and
 * cgroup.kill empties cgroup.procs.
 */
import { mkdtemp, mkdir, readFile, readdir, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CgroupFs } from '../../src/sandbox/cgroups/index.ts';

export interface FakeCgroupV2Options {
  /** Where the hierarchy is "mounted" inside the temp root. */
  readonly mount?: string;
  /** Root cgroup.controllers. */
  readonly controllers?: readonly string[];
  /** Interface files the "kernel" lacks, e.g. `memory.swap.max` on a kernel without swap accounting. */
  readonly missingFiles?: readonly string[];
}

export interface FakeCgroupV2 {
  /** Pass as the manager's fsRoot. */
  readonly fsRoot: string;
  readonly mount: string;
  readonly fs: CgroupFs;
  /** Every successful write, in order, with paths relative to fsRoot. */
  readonly writes: Array<{ path: string; value: string }>;
  /** Real path of a cgroup path (one starting with the mount). */
  real(path: string): string;
  /** Creates a cgroup chain as the host's init system would have, enabling controllers on the way. */
  prepare(path: string, subtreeControl: readonly string[]): Promise<void>;
  /** Every path under fsRoot, sorted: compare before/after to prove nothing was left behind. */
  snapshot(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const coreFiles: Record<string, string> = {
  'cgroup.procs': '',
  'cgroup.subtree_control': '',
  'cgroup.events': 'populated 0\nfrozen 0\n',
  'cgroup.freeze': '0',
  'cgroup.kill': '',
  'cpu.stat': 'usage_usec 0\nuser_usec 0\nsystem_usec 0\n',
};

const controllerFiles: Record<string, Record<string, string>> = {
  memory: {
    'memory.current': '0',
    'memory.peak': '0',
    'memory.max': 'max',
    'memory.swap.max': 'max',
    'memory.oom.group': '0',
    'memory.events': 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n',
  },
  pids: { 'pids.max': 'max', 'pids.current': '0' },
  cpu: { 'cpu.max': 'max 100000', 'cpu.weight': '100' },
};

function errno(code: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${path}`), { code });
}

const words = (text: string): string[] => text.split(/\s+/).filter((word) => word !== '');

export async function createFakeCgroupV2(options: FakeCgroupV2Options = {}): Promise<FakeCgroupV2> {
  const fsRoot = await mkdtemp(join(tmpdir(), 'airlock-fake-cgroupfs-'));
  const mount = options.mount ?? '/sys/fs/cgroup';
  const missing = new Set(options.missingFiles ?? []);
  const writes: Array<{ path: string; value: string }> = [];
  const real = (path: string): string => join(fsRoot, path);
  const relative = (path: string): string => path.slice(fsRoot.length);

  async function exists(path: string): Promise<boolean> {
    try {
      await stat(path);
      return true;
    } catch {
      return false;
    }
  }

  async function listDirs(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  }

  async function setControllers(dir: string, controllers: readonly string[]): Promise<void> {
    await writeFile(join(dir, 'cgroup.controllers'), controllers.join(' '));
    for (const [controller, files] of Object.entries(controllerFiles)) {
      for (const [file, initial] of Object.entries(files)) {
        const path = join(dir, file);
        if (!controllers.includes(controller)) await rm(path, { force: true });
        else if (!missing.has(file) && !(await exists(path))) await writeFile(path, initial);
      }
    }
  }

  async function populate(dir: string): Promise<void> {
    for (const [file, initial] of Object.entries(coreFiles)) {
      if (!missing.has(file)) await writeFile(join(dir, file), initial);
    }
    const parentSubtree = words(await readFile(join(dirname(dir), 'cgroup.subtree_control'), 'utf8'));
    await setControllers(dir, parentSubtree);
  }

  async function writeSubtreeControl(path: string, value: string): Promise<void> {
    const dir = dirname(path);
    const available = words(await readFile(join(dir, 'cgroup.controllers'), 'utf8'));
    const enabled = new Set(words(await readFile(path, 'utf8')));
    for (const token of words(value)) {
      const controller = token.slice(1);
      if (!available.includes(controller)) throw errno('ENOENT', path);
      if (token.startsWith('+')) enabled.add(controller);
      else if (token.startsWith('-')) enabled.delete(controller);
      else throw errno('EINVAL', path);
    }
    const next = [...enabled].sort();
    await writeFile(path, next.join(' '));
    for (const child of await listDirs(dir)) await setControllers(join(dir, child), next);
  }

  async function emptyProcs(dir: string): Promise<void> {
    await writeFile(join(dir, 'cgroup.procs'), '');
    for (const child of await listDirs(dir)) await emptyProcs(join(dir, child));
  }

  const fs: CgroupFs = {
    async mkdir(path) {
      await mkdir(path);
      await populate(path);
    },
    async rmdir(path) {
      if ((await listDirs(path)).length > 0) throw errno('EBUSY', path);
      const procs = join(path, 'cgroup.procs');
      if ((await exists(procs)) && words(await readFile(procs, 'utf8')).length > 0)
        throw errno('EBUSY', path);
      for (const file of await readdir(path)) await rm(join(path, file));
      await rmdir(path);
    },
    async readFile(path) {
      return readFile(path, 'utf8');
    },
    async writeFile(path, value) {
      // The kernel makes interface files; a write to one that does not exist fails, never creates it.
      if (!(await exists(path))) throw errno('ENOENT', path);
      if (path.endsWith('/cgroup.subtree_control')) await writeSubtreeControl(path, value);
      else if (path.endsWith('/cgroup.kill')) await emptyProcs(dirname(path));
      else if (path.endsWith('/cgroup.procs')) {
        await writeFile(path, `${await readFile(path, 'utf8')}${value.trim()}\n`);
      } else await writeFile(path, value);
      writes.push({ path: relative(path), value });
    },
    listDirs,
    exists,
  };

  const rootDir = real(mount);
  await mkdir(rootDir, { recursive: true });
  await writeFile(
    join(rootDir, 'cgroup.controllers'),
    (options.controllers ?? ['cpu', 'memory', 'pids', 'io']).join(' '),
  );
  await writeFile(join(rootDir, 'cgroup.subtree_control'), '');
  await writeFile(join(rootDir, 'cgroup.procs'), '1\n');

  async function snapshot(): Promise<string[]> {
    const entries = await readdir(fsRoot, { recursive: true });
    return entries.map(String).sort();
  }

  return {
    fsRoot,
    mount,
    fs,
    writes,
    real,
    async prepare(path, subtreeControl) {
      const segments = path.split('/').filter((segment) => segment !== '');
      let current = rootDir;
      await fs.writeFile(
        join(current, 'cgroup.subtree_control'),
        subtreeControl.map((c) => `+${c}`).join(' '),
      );
      for (const segment of segments) {
        current = join(current, segment);
        if (!(await exists(current))) await fs.mkdir(current);
        if (segment !== segments.at(-1)) {
          await fs.writeFile(
            join(current, 'cgroup.subtree_control'),
            subtreeControl.map((c) => `+${c}`).join(' '),
          );
        }
      }
      writes.length = 0;
    },
    snapshot,
    async cleanup() {
      await rm(fsRoot, { recursive: true, force: true });
    },
  };
}
