/**
 * The in-memory sandbox's file system: a map of absolute paths to files and directories. /workspace
 * and /tmp are writable and share the spec's scratch size each, like the real drivers' tmpfs mounts;
 * everything else is read-only. /dev/null and /dev/zero exist so everyday commands behave.
 */
import { posix } from 'node:path';

export type Node =
  | { readonly kind: 'file'; data: Buffer; modifiedMs: number }
  | { readonly kind: 'directory'; modifiedMs: number };

/** Why an operation failed, worded as a shell prints it (`No such file or directory`). */
export class FsError extends Error {
  readonly errno: 'ENOENT' | 'EEXIST' | 'EISDIR' | 'ENOTDIR' | 'EROFS' | 'ENOSPC' | 'ENOTEMPTY';
  constructor(errno: FsError['errno']) {
    super(messages[errno]);
    this.errno = errno;
  }
}

const messages: Record<FsError['errno'], string> = {
  ENOENT: 'No such file or directory',
  EEXIST: 'File exists',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  EROFS: 'Read-only file system',
  ENOSPC: 'No space left on device',
  ENOTEMPTY: 'Directory not empty',
};

const WRITABLE_ROOTS = ['/workspace', '/tmp'] as const;

export class MemoryFs {
  readonly #nodes = new Map<string, Node>();
  readonly #scratchBytes: number;
  readonly #now: () => number;

  constructor(scratchBytes: number, now: () => number = Date.now) {
    this.#scratchBytes = scratchBytes;
    this.#now = now;
    for (const dir of ['/', '/dev', '/etc', '/usr', '/proc', ...WRITABLE_ROOTS]) {
      this.#nodes.set(dir, { kind: 'directory', modifiedMs: now() });
    }
  }

  /** `path` taken from `cwd`, normalised (inside the sandbox `..` is the agent's own business). */
  static resolve(cwd: string, path: string): string {
    const absolute = posix.resolve(cwd, path);
    return absolute.length > 1 && absolute.endsWith('/') ? absolute.slice(0, -1) : absolute;
  }

  get(path: string): Node | undefined {
    return this.#nodes.get(path);
  }

  read(path: string): Buffer {
    if (path === '/dev/null') return Buffer.alloc(0);
    const node = this.#nodes.get(path);
    if (node === undefined) throw new FsError('ENOENT');
    if (node.kind === 'directory') throw new FsError('EISDIR');
    return node.data;
  }

  write(path: string, data: Buffer, append = false): void {
    if (path === '/dev/null') return;
    const root = this.#writableRoot(path);
    const parent = this.#nodes.get(posix.dirname(path));
    if (parent === undefined) throw new FsError('ENOENT');
    if (parent.kind !== 'directory') throw new FsError('ENOTDIR');
    const existing = this.#nodes.get(path);
    if (existing?.kind === 'directory') throw new FsError('EISDIR');
    const next = append && existing !== undefined ? Buffer.concat([existing.data, data]) : data;
    if (this.usedBytes(root) - (existing?.data.length ?? 0) + next.length > this.#scratchBytes) {
      throw new FsError('ENOSPC');
    }
    this.#nodes.set(path, { kind: 'file', data: next, modifiedMs: this.#now() });
  }

  mkdir(path: string, parents: boolean): void {
    this.#writableRoot(path);
    const existing = this.#nodes.get(path);
    if (existing !== undefined) {
      if (parents && existing.kind === 'directory') return;
      throw new FsError('EEXIST');
    }
    const parent = posix.dirname(path);
    if (!this.#nodes.has(parent)) {
      if (!parents) throw new FsError('ENOENT');
      this.mkdir(parent, true);
    }
    this.#nodes.set(path, { kind: 'directory', modifiedMs: this.#now() });
  }

  remove(path: string, recursive: boolean): void {
    this.#writableRoot(path);
    if ((WRITABLE_ROOTS as readonly string[]).includes(path)) throw new FsError('EROFS');
    const node = this.#nodes.get(path);
    if (node === undefined) throw new FsError('ENOENT');
    const children = this.list(path, false);
    if (node.kind === 'directory' && !recursive) throw new FsError('EISDIR');
    for (const child of children) this.#nodes.delete(child);
    this.#nodes.delete(path);
  }

  /** The paths directly in `path` (or, with `deep`, everywhere below it), sorted by name. */
  list(path: string, direct = true): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    return [...this.#nodes.keys()]
      .filter((key) => key !== path && key.startsWith(prefix))
      .filter((key) => !direct || !key.slice(prefix.length).includes('/'))
      .sort();
  }

  /** Bytes of file content under one writable root. */
  usedBytes(root: string): number {
    let total = 0;
    for (const [key, node] of this.#nodes) {
      if (node.kind === 'file' && key.startsWith(`${root}/`)) total += node.data.length;
    }
    return total;
  }

  totalBytes(): number {
    return WRITABLE_ROOTS.reduce((sum, root) => sum + this.usedBytes(root), 0);
  }

  #writableRoot(path: string): string {
    const root = WRITABLE_ROOTS.find((candidate) => path === candidate || path.startsWith(`${candidate}/`));
    if (root === undefined) throw new FsError('EROFS');
    return root;
  }
}
