import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** The only host directories a `host` image exposes, all read-only. */
export const systemDirs = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'] as const;

/**
 * Host /etc entries a sandbox may see, each needed by ordinary tools and free of secrets. Anything
 * not listed (shadow, ssh keys, sudoers, gitconfig/npmrc/pip.conf which can hold tokens, machine-id
 * which identifies the host) stays out; passwd/group/hosts/hostname are generated instead.
 */
export const hostEtcAllowlist = [
  'alternatives', // /usr/bin/awk and friends are symlinks through here
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'ssl/certs', // public CA certificates only; ssl/private stays out
  'ca-certificates',
  'ca-certificates.conf',
  'localtime',
  'timezone',
  'protocols',
  'services',
  'mime.types',
  'magic',
  'magic.mime',
  'os-release',
  'debian_version',
  'lsb-release',
  'inputrc',
  'java-17-openjdk', // the JDK's jvm.cfg is a symlink into /etc
  'java-21-openjdk',
  'perl',
  'python3',
  'python3.11',
  'gai.conf',
] as const;

export type HostEntry = { kind: 'dir' } | { kind: 'symlink'; target: string } | { kind: 'file' };

export interface HostLayout {
  systemDirs: Record<string, HostEntry | undefined>;
  etcEntries: string[];
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

/** Reads the facts the pure planner needs about the host (or a rootfs directory). */
export function readHostLayout(root = '/'): HostLayout {
  const dirs: Record<string, HostEntry | undefined> = {};
  for (const dir of systemDirs) dirs[dir] = entryAt(join(root, dir));
  return {
    systemDirs: dirs,
    etcEntries: hostEtcAllowlist.filter((entry) => existsSync(join(root, 'etc', entry))),
    shell: shellFor(root),
  };
}
