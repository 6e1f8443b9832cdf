import { constants } from 'node:fs';
import { access, mkdir, open, readFile, readdir, rmdir } from 'node:fs/promises';

/**
 * The filesystem calls the cgroup manager makes. The seam exists so tests can run the real manager
 * against a temp directory that emulates what the kernel does on mkdir (create the interface files);
 * production code uses nodeCgroupFs.
 */
export interface CgroupFs {
  /** Non-recursive; fails with EEXIST when the directory exists. */
  mkdir(path: string): Promise<void>;
  rmdir(path: string): Promise<void>;
  readFile(path: string): Promise<string>;
  /** One write(2) into an existing file; must never create it (fails with ENOENT instead). */
  writeFile(path: string, value: string): Promise<void>;
  /** Names of the child directories (child cgroups), not the interface files. */
  listDirs(path: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
}

export const nodeCgroupFs: CgroupFs = Object.freeze({
  async mkdir(path: string): Promise<void> {
    await mkdir(path);
  },
  async rmdir(path: string): Promise<void> {
    await rmdir(path);
  },
  async readFile(path: string): Promise<string> {
    return readFile(path, 'utf8');
  },
  async writeFile(path: string, value: string): Promise<void> {
    // O_WRONLY without O_CREAT: a missing interface file means a missing controller or feature, and
    // creating a plain file in its place would hide that. Write-only also because some interface files
    // (cgroup.kill) cannot be opened for reading. One write call: each write(2) is one command.
    const handle = await open(path, constants.O_WRONLY);
    try {
      await handle.write(value);
    } finally {
      await handle.close();
    }
  },
  async listDirs(path: string): Promise<string[]> {
    const entries = await readdir(path, { withFileTypes: true });
    return entries.filter((entry) => entry.isDirectory()).map((entry) => entry.name);
  },
  async exists(path: string): Promise<boolean> {
    try {
      await access(path);
      return true;
    } catch {
      return false;
    }
  },
});

/** The errno code of a failed system call (`EACCES`), or undefined for anything else. */
export function errnoOf(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
