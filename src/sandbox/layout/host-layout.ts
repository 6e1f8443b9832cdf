import { existsSync, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { maskedProcPaths } from './host-masks.ts';
import { generatedEtcFiles } from './etc-files.ts';

/** The only host directories a `host` image exposes, all read-only. */
export const systemDirs = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/**
 * Host /etc entries a sandbox may see, each needed by ordinary tools at run time and free of
 * secrets. Anything not listed (shadow, ssh keys, sudoers, gitconfig/npmrc/pip.conf which can hold
 * tokens, machine-id which identifies the host) stays out; passwd/group/hosts are generated instead.
 * A trailing `*` matches by prefix (versioned directories). Kept short on purpose: each entry is one
 * more bind mount on every sandbox start.
 */
export const hostEtcAllowlist = [
  'alternatives', // /usr/bin/awk and friends are symlinks through here
  'ld.so.cache', // without it the loader misses the multiarch library directories
  'ssl/certs', // public CA certificates only; ssl/private stays out
  'localtime',
  'protocols',
  'services',
  'mime.types',
  'os-release',
  'java-*', // the JDK's jvm.cfg is a symlink into /etc/java-NN-openjdk
  'python3*', // Debian's sitecustomize.py is a symlink into /etc/python3.NN
] as const;

export type HostEntry = { kind: 'dir' } | { kind: 'symlink'; target: string } | { kind: 'file' };

export interface HostLayout {
  /** Image `host`: the system directories as they are on the host. */
  systemDirs: Record<string, HostEntry | undefined>;
  /** Image `host`: allowlisted /etc entries present on the host. */
  etcEntries: string[];
  /** A rootfs image: its top-level entries. */
  rootEntries: Record<string, HostEntry>;
  /** Generated /etc files the image already has (a read-only /etc can take binds only over those). */
  etcFilesPresent: string[];
  shell: { path: string; args: string[] };
}

function entryAt(path: string): HostEntry | undefined {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return { kind: 'symlink', target: readlinkSync(path) };
    return stat.isDirectory() ? { kind: 'dir' } : { kind: 'file' };
  } catch {
    return undefined;
  }
}

/** The shell commands run under: bash as the issue asks, plain sh where an image has no bash. */
export function shellFor(root: string): { path: string; args: string[] } {
  for (const candidate of ['/usr/bin/bash', '/bin/bash']) {
    if (existsSync(join(root, candidate))) return { path: candidate, args: ['--noprofile', '--norc', '-c'] };
  }
  return { path: '/bin/sh', args: ['-c'] };
}

function expandEtcAllowlist(root: string): string[] {
  let present: string[] = [];
  try {
    present = readdirSync(join(root, 'etc'));
  } catch {
    return [];
  }
  return hostEtcAllowlist.flatMap((entry) => {
    if (entry.endsWith('*')) return present.filter((name) => name.startsWith(entry.slice(0, -1))).sort();
    return existsSync(join(root, 'etc', entry)) ? [entry] : [];
  });
}

/** Reads the facts the pure planner needs about the host (or a rootfs directory). */
export function readHostLayout(root = '/'): HostLayout {
  const dirs: Record<string, HostEntry | undefined> = {};
  for (const dir of systemDirs) dirs[dir] = entryAt(join(root, dir));
  return {
    systemDirs: dirs,
    etcEntries: expandEtcAllowlist(root),
    rootEntries: {},
    etcFilesPresent: [],
    shell: shellFor(root),
  };
}

/** Reads what the planner needs about a rootfs directory image. */
export function readImageLayout(root: string): HostLayout {
  const rootEntries: Record<string, HostEntry> = {};
  for (const name of readdirSync(root)) {
    const entry = entryAt(join(root, name));
    if (entry) rootEntries[name] = entry;
  }
  return {
    systemDirs: {},
    etcEntries: [],
    rootEntries,
    etcFilesPresent: Object.keys(generatedEtcFiles()).filter((path) => existsSync(join(root, path))),
    shell: shellFor(root),
  };
}

/** A host /proc entry the sandbox's fresh procfs would show, and how to cover it. */
export interface ProcMask {
  path: string;
  kind: 'file' | 'dir';
}

/**
 * The masked /proc entries (see host-masks.ts) that exist on this kernel and that a sandbox could
 * read, list or write, read for each sandbox (a few lstat calls) so a directory the kernel fills
 * later is covered from then on. Entries only the host's root may open (mode 0400 root: kcore,
 * kpage*, vmallocinfo, timer_list on recent kernels) need no mask, because a bwrap sandbox never
 * runs as host root, and neither does an empty directory (/proc/acpi on a machine without ACPI):
 * each mount costs bwrap about 0.2 ms, a tenth of a millisecond that the cold start would pay for
 * nothing. `procRoot` is the host's /proc: a sandbox's fresh procfs has the same global entries,
 * since it belongs to the same kernel.
 */
export function readProcMasks(procRoot = '/proc'): ProcMask[] {
  return maskedProcPaths.flatMap((path): ProcMask[] => {
    const hostPath = join(procRoot, path.slice('/proc/'.length));
    try {
      const stat = lstatSync(hostPath);
      if ((stat.mode & 0o077) === 0) return [];
      if (!stat.isDirectory()) return [{ path, kind: 'file' }];
      return readdirSync(hostPath).length === 0 ? [] : [{ path, kind: 'dir' }];
    } catch {
      return [];
    }
  });
}
