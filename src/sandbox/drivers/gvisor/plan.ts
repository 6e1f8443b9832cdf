import { sandboxHostname, sandboxUser } from '../../layout/index.ts';
import { launcherFds } from '../../launcher/index.ts';
import type { LauncherPlan } from '../../launcher/index.ts';
import { egressBridgeArgs, egressMounts } from '../../egress-mount.ts';
import type { SandboxSpec } from '../../types.ts';

/** Where the supervisor and its seccomp programs appear inside the sandbox (part of the skeleton). */
export const airlockDirInSandbox = '/.airlock';
export const supervisorInSandbox = `${airlockDirInSandbox}/supervisor`;
export const seccompFilesInSandbox = [`${airlockDirInSandbox}/seccomp.bpf`] as const;

/** Device nodes gVisor adds to every sandbox's /dev that the sandbox has no use for. */
export const devicesRemoved = ['/dev/fuse', '/dev/net/tun', '/dev/net'] as const;
/**
 * All the supervisor holds: it stays the sandbox's root while commands run as the agent's uid, and
 * needs these to start them as the agent (SETUID, SETGID, SETPCAP for their bounding set) and to
 * kill their processes (KILL). Commands never hold any (native/command-identity.c).
 */
export const supervisorCapabilities = ['CAP_SETUID', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_KILL'];

export type GvisorPlatform = 'systrap' | 'kvm' | 'ptrace';

/**
 * Host memory the sentry, gofer and runsc itself need on top of what the sandbox's programs may use.
 * gVisor keeps the programs' memory inside the sentry's own process, so the host cgroup holds both.
 */
export const GVISOR_MEMORY_OVERHEAD_BYTES = 160 * 1024 * 1024;
/**
 * Host tasks runsc, the gofer and the sentry need for themselves (Go runtime threads, more of them
 * while many sandbox tasks block in host calls), on top of what the sandbox's tasks cost.
 */
export const GVISOR_PIDS_OVERHEAD = 256;
/**
 * Host tasks one sandbox task can cost. Under systrap every sandbox address space is a stub process
 * on the host and every sandbox thread a stub thread in it, so a single-threaded process costs two
 * (measured: 100 sleeping processes add ~200 host tasks); the ptrace platform costs one, KVM none.
 */
export const GVISOR_HOST_TASKS_PER_TASK = 2;

/**
 * The host cgroup's task limit for a gVisor sandbox of `pids` tasks. gVisor's own limit (RLIMIT_NPROC
 * in the sentry, which counts every task of the agent's uid) must be the one a fork bomb meets: at
 * the host limit the sentry cannot make the threads it needs and the whole sandbox dies, where at its
 * own limit only the bomb's forks fail, the command is killed at its timeout and the session lives,
 * as on the other drivers. So the host limit is what `pids` sandbox tasks can cost at most, plus the
 * sentry's own.
 */
export function gvisorHostPidsLimit(pids: number): number {
  return pids * GVISOR_HOST_TASKS_PER_TASK + GVISOR_PIDS_OVERHEAD;
}

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options?: string[];
}

export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number; additionalGids: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: Record<'bounding' | 'effective' | 'inheritable' | 'permitted' | 'ambient', string[]>;
    noNewPrivileges: boolean;
    rlimits: { type: string; hard: number; soft: number }[];
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: { type: string }[];
    resources: {
      memory: { limit: number };
      pids: { limit: number };
      cpu: { quota: number; period: number };
    };
  };
}

export interface GvisorPlanInput {
  spec: SandboxSpec;
  /** The prepared read-only skeleton (see rootfs.ts). */
  rootfsDir: string;
  /** Host directories bind-mounted read-only at the same path (image `host`: /usr and friends). */
  binds: readonly { source: string; destination: string }[];
  /** The skeleton has a system CA bundle (SYSTEM_CA_BUNDLE) a session's bundle can be bound over; default false. */
  systemCaBundle?: boolean;
}

const CPU_PERIOD_US = 100_000;

function tmpfs(destination: string, sizeBytes: number, mode: string, owner?: { uid: number; gid: number }) {
  const options = ['nosuid', 'nodev', `mode=${mode}`, `size=${sizeBytes}`];
  if (owner) options.push(`uid=${owner.uid}`, `gid=${owner.gid}`);
  return { destination, type: 'tmpfs', source: 'tmpfs', options };
}

/**
 * The OCI runtime spec of one gVisor sandbox. Pure: every host fact comes in through `input`, so the
 * security posture is reviewable (and unit-tested) as data. The first process is the airlock-helper
 * supervisor in `confine` mode, which drops what is left of privileges, installs the seccomp programs
 * and then serves commands exactly as under bwrap.
 */
export function planOciConfig(input: GvisorPlanInput): OciConfig {
  const { spec } = input;
  const mounts: OciMount[] = [
    // gVisor's own procfs: it shows only the sandbox's processes.
    { destination: '/proc', type: 'proc', source: 'proc' },
    ...input.binds.map(({ source, destination }) => ({
      destination,
      type: 'bind',
      source,
      options: ['rbind', 'ro', 'nosuid', 'nodev'],
    })),
    // Sized, in-memory scratch: the only writable places. gVisor enforces the size itself.
    tmpfs('/dev/shm', spec.scratchBytes, '1777'),
    tmpfs('/tmp', spec.scratchBytes, '1777'),
    tmpfs(sandboxUser.home, spec.scratchBytes, '0755', sandboxUser),
    ...ociEgressMounts(input),
  ];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      // The supervisor is the sandbox's root (root of the sentry's kernel, no host identity) holding
      // only supervisorCapabilities; commands run as the agent's uid, so no command can signal it,
      // trace it or reopen its pipes through /proc (gVisor shows a process's fds to its own uid).
      user: { uid: 0, gid: 0, additionalGids: [] },
      args: [
        supervisorInSandbox,
        'confine',
        // gVisor's /dev always has these; bwrap's minimal /dev does not, and no command needs them.
        ...devicesRemoved.flatMap((path) => ['--remove', path]),
        // The commands' uid:gid; the supervisor keeps its own (see supervisorCapabilities).
        '--user',
        `${sandboxUser.uid}:${sandboxUser.gid}`,
        ...seccompFilesInSandbox.flatMap((path) => ['--seccomp', path]),
        ...egressBridgeArgs(spec.egress),
      ],
      // The host's environment never reaches the sandbox; commands get theirs per exec.
      env: [],
      cwd: sandboxUser.home,
      capabilities: {
        bounding: supervisorCapabilities,
        effective: supervisorCapabilities,
        permitted: supervisorCapabilities,
        inheritable: [],
        ambient: [],
      },
      noNewPrivileges: true,
      rlimits: [
        { type: 'RLIMIT_NOFILE', hard: 4096, soft: 1024 },
        // The sandbox has a kernel of its own in which only the agent's uid runs processes, so the
        // per-uid process limit is the sandbox's process limit; the sentry enforces it.
        { type: 'RLIMIT_NPROC', hard: spec.pids, soft: spec.pids },
      ],
    },
    root: { path: input.rootfsDir, readonly: true },
    hostname: sandboxHostname,
    mounts,
    linux: {
      // Each is a namespace of the sentry's own kernel, not of the host's.
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      // Read by the sentry to size what it reports (MemTotal, CPUs); the host cgroup enforcing the
      // limits is made by Airlock, since runsc runs with --ignore-cgroups.
      resources: {
        memory: { limit: spec.memoryBytes },
        pids: { limit: spec.pids },
        cpu: { quota: Math.max(1000, Math.round(spec.cpus * CPU_PERIOD_US)), period: CPU_PERIOD_US },
      },
    },
  };
}

/**
 * The session's egress files read-only (the skeleton has their mount points). The directory stays
 * root's, 0700: only the supervisor (root of the sentry) enters it; commands read the CA files
 * mounted on their own. The sentry reaches the proxy's socket through the gofer, which runsc allows
 * only with --host-uds=open (see planRunscRun).
 */
function ociEgressMounts(input: GvisorPlanInput): OciMount[] {
  return egressMounts(input.spec.egress, input.systemCaBundle === true).map(({ source, destination }) => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
  }));
}

export interface RunscPlanInput {
  runscPath: string;
  /** runsc's state directory (`--root`), private to Airlock. */
  stateRoot: string;
  platform: GvisorPlatform;
  bundleDir: string;
  containerId: string;
  /** A checkpoint directory: `runsc restore` from it instead of a fresh `runsc run`. */
  restoreFrom?: string;
  /** The sandbox connects to its egress proxy's host socket (spec.egress). */
  egress?: boolean;
}

/** Global flags every runsc call for this driver carries, so they all see the same state. */
export function runscGlobalArgs(input: Pick<RunscPlanInput, 'stateRoot' | 'platform'>): string[] {
  return [
    `--root=${input.stateRoot}`,
    `--platform=${input.platform}`,
    // No network stack reaches outside: only the sentry's own loopback exists.
    '--network=none',
    // Airlock places runsc in the session's cgroups before it starts (airlock-helper launch), so
    // every process runsc makes is born inside the limits.
    '--ignore-cgroups',
    // The root stays genuinely read-only: no writable overlay over the image.
    '--overlay2=none',
  ];
}

export interface ParkedLauncherPlanInput {
  helperPath: string;
  /** cgroup.procs files the launcher joins before anything else runs. */
  cgroupProcsFiles: readonly string[];
  platform: GvisorPlatform;
}

/**
 * The launcher flag that refuses runsc's processes membarrier's private-expedited registration (see
 * native/launch.c, refuse_membarrier_registration): each registration waits out an RCU grace period
 * (about 20 ms, three times on the way to a started sandbox), and only the KVM platform uses that
 * barrier, so KVM keeps it.
 */
function membarrierFlags(platform: GvisorPlatform): string[] {
  return platform === 'kvm' ? [] : ['--no-membarrier-registration'];
}

/**
 * The argv prefix of a short runsc management call (list, delete, checkpoint): through the launcher
 * for the same start-up saving as the sandbox's own runsc. Pure.
 */
export function runscCommand(input: {
  helperPath: string;
  runscPath: string;
  platform: GvisorPlatform;
}): string[] {
  const flags = membarrierFlags(input.platform);
  return flags.length === 0
    ? [input.runscPath]
    : [input.helperPath, 'launch', ...flags, '--', input.runscPath];
}

/**
 * The launcher: airlock-helper `launch`, which joins the session's cgroups first and then waits on
 * fd 3 for the argv to exec (`planRunscRun`), so it can be started before the sandbox is asked for.
 * It stays root: runsc needs root to build the sandbox. Pure.
 */
export function planParkedLauncher(input: ParkedLauncherPlanInput): LauncherPlan {
  const args = ['launch'];
  for (const file of input.cgroupProcsFiles) args.push('--cgroup-procs', file);
  args.push(...membarrierFlags(input.platform), '--instructions', String(launcherFds.instructions));
  // The host's environment never reaches runsc or the sandbox.
  return {
    file: input.helperPath,
    args,
    env: {},
    cwd: '/',
    fds: [{ fd: launcherFds.instructions, source: { kind: 'instructions' } }],
  };
}

/** `runsc run` (or `restore`) in the foreground: the sandbox lives exactly as long as this process. */
export function planRunscRun(input: RunscPlanInput): string[] {
  const command =
    input.restoreFrom === undefined ? ['run'] : ['restore', `--image-path=${input.restoreFrom}`];
  return [
    input.runscPath,
    ...runscGlobalArgs(input),
    // Connecting to a host Unix socket through the gofer is refused unless allowed; `open` allows
    // connecting to existing ones only (never creating one on the host). Only sandboxes with egress
    // get it, and the only host sockets they can see are in what is bind-mounted into them.
    ...(input.egress === true ? ['--host-uds=open'] : []),
    ...command,
    `--bundle=${input.bundleDir}`,
    input.containerId,
  ];
}

/** Host cgroup limits: the spec's CPU share exactly; memory and tasks with the sentry's own on top. */
export function hostLimitsFor(spec: SandboxSpec): { memoryBytes: number; cpus: number; pids: number } {
  return {
    memoryBytes: spec.memoryBytes + GVISOR_MEMORY_OVERHEAD_BYTES,
    cpus: spec.cpus,
    pids: gvisorHostPidsLimit(spec.pids),
  };
}

/*
 * Security limitations
 * - The sentry implements Linux itself; a bug in it is contained by its own seccomp filter and
 *   namespaces, not by the host kernel's full syscall surface (the point of gVisor).
 * - The supervisor is root of the sentry's kernel for the sandbox's whole life, holding only
 *   supervisorCapabilities; commands are another uid. gVisor lets a process reopen another's fds
 *   through /proc whenever the file allows it, so what separates them is file ownership: the
 *   channel and exit-status pipes are not the agent's, a command's stdout and stdin pipes are.
 * - The host cgroup covers the sentry and the sandbox's programs together, so the memory and task
 *   limits hold with GVISOR_*_OVERHEAD on top: programs may use somewhat more memory than the spec
 *   says before the host refuses, and an OOM may end the whole sandbox rather than one command. The
 *   sandbox's task count is held by the sentry (RLIMIT_NPROC = pids), the host's task limit is a
 *   backstop above what that many tasks can cost (gvisorHostPidsLimit).
 */
