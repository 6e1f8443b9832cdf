import { egressBridgeArgs, egressMounts } from '../../egress-mount.ts';
import type { SandboxSpec } from '../../types.ts';
import { generatedEtcFiles, sandboxHostname, sandboxUser } from '../../layout/index.ts';
import type { HostLayout, ProcMask } from '../../layout/index.ts';
import { launcherFds } from '../../launcher/index.ts';
import type { FdSource, LauncherPlan } from '../../launcher/index.ts';

/** Where the supervisor binary appears inside the sandbox. */
export const supervisorPathInSandbox = '/.airlock/supervisor';

export interface LauncherPlanInput {
  helperPath: string;
  /** The helper bound into the sandbox as its supervisor, when not `helperPath` (a published copy). */
  supervisorPath?: string;
  /** cgroup.procs files the launcher joins before anything else runs. */
  cgroupProcsFiles: readonly string[];
  /** Host uid/gid to run bwrap as; omitted when the control plane is not root (it cannot switch). */
  hostIds?: { uid: number; gid: number };
  seccompFilter: Buffer;
}

const generatedEtcPaths = Object.keys(generatedEtcFiles());
/** Top-level names Airlock mounts itself; an image's own are not used. */
const mountedByAirlock = new Set(['proc', 'dev', 'sys', 'tmp', 'workspace', '.airlock']);
const supervisorFd = launcherFds.firstEtcFile + generatedEtcPaths.length;
const seccompFd = supervisorFd + 1;

/**
 * The launcher process: it joins the session's cgroups and drops to the sandbox's host uid, then
 * waits for its instructions (`planBwrap`) on fd 3. Pure.
 */
export function planLauncher(input: LauncherPlanInput): LauncherPlan {
  const etc = generatedEtcFiles();
  const fds: { fd: number; source: FdSource }[] = [
    { fd: launcherFds.instructions, source: { kind: 'instructions' } },
    ...generatedEtcPaths.map((path, index) => ({
      fd: launcherFds.firstEtcFile + index,
      source: { kind: 'data', data: Buffer.from(etc[path] ?? '') } as FdSource,
    })),
    { fd: supervisorFd, source: { kind: 'file', path: input.supervisorPath ?? input.helperPath } },
    { fd: seccompFd, source: { kind: 'data', data: input.seccompFilter } },
  ];
  const args = ['launch'];
  for (const file of input.cgroupProcsFiles) args.push('--cgroup-procs', file);
  if (input.hostIds) args.push('--uid', String(input.hostIds.uid), '--gid', String(input.hostIds.gid));
  args.push('--instructions', String(launcherFds.instructions));
  // The host's environment never reaches the sandbox; commands get theirs per exec.
  return { file: input.helperPath, args, env: {}, cwd: '/', fds };
}

export interface BwrapPlanInput {
  spec: SandboxSpec;
  bwrapPath: string;
  /** Facts about the host (image `host`) or the rootfs directory. */
  layout: HostLayout;
  /** Host-describing /proc entries to cover (see `readProcMasks`). */
  procMasks: readonly ProcMask[];
  /** The image has a system CA bundle (SYSTEM_CA_BUNDLE) a session's bundle can be bound over; default false. */
  systemCaBundle?: boolean;
}

/**
 * The bwrap argv for one session sandbox, sent to a launcher made by `planLauncher`. Pure: every
 * host fact comes in through `input`, so the whole security posture is reviewable (and unit-tested)
 * as data.
 */
export function planBwrap(input: BwrapPlanInput): string[] {
  const { spec, layout } = input;
  const args: string[] = [
    input.bwrapPath,
    // A fresh namespace of every kind: own mounts, pids, IPC, hostname, cgroup view, and a network
    // namespace with only loopback, so nothing inside can reach the host's network or processes.
    '--unshare-user',
    '--unshare-pid',
    // The supervisor is the sandbox's pid 1, not bwrap's reaper: the only process holding the host
    // channel, not dumpable, and one the kernel keeps commands from signalling (a pid namespace's
    // init gets no signal it does not handle from inside). The reaper would hold the channel
    // too, dumpable and signalable (native/command-identity.c).
    '--as-pid-1',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup',
    // Nested user namespaces are the usual first step of kernel exploits; refuse them outright.
    '--disable-userns',
    '--uid',
    String(sandboxUser.uid),
    '--gid',
    String(sandboxUser.gid),
    '--hostname',
    sandboxHostname,
    // If the control plane dies, the sandbox dies with it instead of running unsupervised.
    '--die-with-parent',
    // A new session detaches from any controlling terminal (no TIOCSTI typing into the host's tty).
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];

  if (spec.image === 'host') {
    for (const [dir, entry] of Object.entries(layout.systemDirs)) {
      if (!entry) continue;
      if (entry.kind === 'symlink') args.push('--symlink', entry.target, dir);
      else args.push('--ro-bind', dir, dir);
    }
    args.push('--dir', '/etc');
    for (const name of layout.etcEntries) args.push('--ro-bind', `/etc/${name}`, `/etc/${name}`);
  } else {
    // A rootfs directory is the operator's image: all of it read-only, one top-level entry at a
    // time on the sandbox's own root, so the mounts Airlock adds (/proc, /dev, /tmp, /workspace,
    // the supervisor) never need to be created inside the read-only image.
    for (const [name, entry] of Object.entries(layout.rootEntries)) {
      if (mountedByAirlock.has(name)) continue;
      if (entry.kind === 'symlink') args.push('--symlink', entry.target, `/${name}`);
      else args.push('--ro-bind', `${spec.image}/${name}`, `/${name}`);
    }
  }
  generatedEtcPaths.forEach((path, index) => {
    // In an image, /etc is read-only: generated files can only be bound over files it already has.
    if (spec.image !== 'host' && !layout.etcFilesPresent.includes(path)) return;
    args.push('--ro-bind-data', String(launcherFds.firstEtcFile + index), path);
  });

  args.push(
    // Fresh procfs: it shows only this sandbox's processes (a bind of the host's would show all).
    '--proc',
    '/proc',
    // Its global files are still the host kernel's: those that describe the host are covered, a
    // file by /dev/null read-only (bwrap's binds are nodev, so opening it is refused), a directory
    // by an empty read-only tmpfs.
    ...input.procMasks.flatMap(({ path, kind }) =>
      kind === 'file' ? ['--ro-bind', '/dev/null', path] : ['--tmpfs', path, '--remount-ro', path],
    ),
    // Minimal /dev: null, zero, full, random, urandom, tty, pts; no disks, no host devices.
    '--dev',
    '/dev',
    '--size',
    String(spec.scratchBytes),
    '--tmpfs',
    '/dev/shm',
    '--size',
    String(spec.scratchBytes),
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
    '--size',
    String(spec.scratchBytes),
    '--perms',
    '0755',
    '--tmpfs',
    sandboxUser.home,
    '--ro-bind-fd',
    String(supervisorFd),
    supervisorPathInSandbox,
    // bwrap runs as the session's uid: grantEgressAccess lets it (and only it) into the directory.
    ...egressMounts(spec.egress, input.systemCaBundle === true).flatMap(({ source, destination }) => [
      '--ro-bind',
      source,
      destination,
    ]),
    // The root and /dev are read-only; only the sized tmpfs mounts above take writes.
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
    '--chdir',
    sandboxUser.home,
    '--seccomp',
    String(seccompFd),
    '--',
    supervisorPathInSandbox,
    'supervise',
    ...egressBridgeArgs(spec.egress),
  );
  return args;
}

/**
 * What a parked launcher is told: the bwrap argv, after `--nproc <pids>` when the session has a host
 * uid of its own. RLIMIT_NPROC counts every process of a host uid, so it is only a session's limit
 * when the uid is only that session's; shared with the control plane it would count the host's
 * processes too. Pure.
 */
export function planInstructions(
  spec: SandboxSpec,
  bwrapArgv: readonly string[],
  ownHostUid: boolean,
): string[] {
  return ownHostUid ? ['--nproc', String(spec.pids), ...bwrapArgv] : [...bwrapArgv];
}

/*
 * Security limitations
 * - bubblewrap shares the host kernel: a kernel bug reachable through the allowed syscalls is an
 *   escape. The seccomp filter is a deny-list (new syscalls are allowed until listed).
 * - The host's /usr is visible read-only, including whatever tools and libraries it holds.
 * - /proc's global files not in host-masks.ts are the host kernel's (cpuinfo, meminfo, stat,
 *   version, mounts of the sandbox's own namespace); there is no /sys. The mount table names the
 *   host path of the supervisor binary (its bind source).
 * - Commands, their keepers and the supervisor share one uid inside the sandbox. The supervisor is
 *   pid 1 (no command can signal it) and not dumpable, and each command runs in a Landlock domain of
 *   its own where the kernel has Landlock: none can open, trace or signal the supervisor. A command
 *   can kill its own or another command's keeper (that command's processes are then killed).
 * - Loopback inside the sandbox is private to it; nothing else of the network exists. A session with
 *   egress reaches the proxy through the supervisor's bridge (or the mounted socket itself, which
 *   commands may use directly): the proxy, not this driver, decides which hosts.
 * - Each session runs as a host uid of its own only when the control plane is root; without root
 *   every session runs as the control plane's uid, sharing its per-user kernel limits.
 */
