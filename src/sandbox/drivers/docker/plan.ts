import type { ContainerCreateOptions, HostConfig, MountSettings } from 'dockerode';
import { sandboxHostname, sandboxUser, maskedProcPaths, maskedSysPaths } from '../../layout/index.ts';
import {
  GVISOR_MEMORY_OVERHEAD_BYTES,
  devicesRemoved,
  gvisorHostPidsLimit,
  supervisorCapabilities,
} from '../gvisor/index.ts';
import { egressBridgeArgs, egressMounts } from '../../egress-mount.ts';
import type { SandboxSpec } from '../../types.ts';
import { REFUSED_SYSCALLS } from '../../seccomp/index.ts';
import { sharedDirInContainer } from './shared-volume.ts';

/** Every container this driver makes carries these labels, so a sweep can find its leftovers. */
export const labelKeys = {
  sandbox: 'dev.airlock.sandbox',
  /** `<control plane pid>-<sandbox id>`: tells a crashed control plane's containers apart. */
  session: 'dev.airlock.session',
  /** Host name of the control plane: a shared daemon's other hosts' containers are never swept. */
  host: 'dev.airlock.host',
  /**
   * The state directory: while it exists, only the installation that made a container sweeps it.
   * Pids say which control plane is gone only within one pid namespace, and two installations on
   * one host (or in containers sharing a daemon) may not share one.
   */
  state: 'dev.airlock.state',
} as const;

export const supervisorInContainer = `${sharedDirInContainer}/supervisor`;
export const seccompInContainer = `${sharedDirInContainer}/seccomp.bpf`;

export type DockerRuntime = 'runc' | 'runsc';

export interface ContainerPlanInput {
  spec: SandboxSpec;
  name: string;
  id: string;
  session: string;
  host: string;
  /** `stateLabel(stateDir)` (see sweep.ts). */
  state: string;
  image: string;
  runtime: DockerRuntime;
  /** The volume holding the supervisor and its seccomp program (see shared-volume.ts). */
  sharedVolume: string;
  /** Generated /etc files, bound read-only out of the shared volume's directory on the daemon's host. */
  etcFiles: readonly { source: string; destination: string }[];
  /** Docker's own seccomp profile (JSON), applied before the supervisor installs Airlock's. */
  dockerSeccompProfile: string;
  /** runc: the session's own host uid and gid, which the container runs as. */
  hostIds?: { uid: number; gid: number };
}

/**
 * `CgroupnsMode` is API 1.41+; @types/dockerode does not list it, nor the masked and read-only path
 * lists (API 1.30+), which replace Docker's defaults when given.
 */
type HostConfigWithCgroupns = HostConfig & {
  CgroupnsMode: 'private' | 'host';
  MaskedPaths: string[];
  ReadonlyPaths: string[];
};

/**
 * Docker's default masked paths are a subset of Airlock's list; giving the list replaces them, so it
 * is the whole list. The runtime covers a file with /dev/null and a directory with an empty read-only
 * tmpfs, and passes over paths this kernel does not have.
 */
export const dockerMaskedPaths: readonly string[] = [...maskedProcPaths, ...maskedSysPaths];
/** Docker's default read-only /proc paths, kept as they are (the field would replace them too). */
export const dockerReadonlyPaths: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

function tmpfsOptions(sizeBytes: number, mode: string, owner?: { uid: number; gid: number }): string {
  const options = ['rw', 'nosuid', 'nodev', `size=${sizeBytes}`, `mode=${mode}`];
  if (owner) options.push(`uid=${owner.uid}`, `gid=${owner.gid}`);
  return options.join(',');
}

/**
 * The Engine API body for one session container. Pure, so the posture is reviewable as data. The
 * seed's settings are the floor: memory (no swap), CPU quota, pids limit, no network, read-only
 * root, sized tmpfs scratch, no-new-privileges, every capability dropped, a non-root user. On top,
 * the supervisor (airlock-helper `confine`) gives itself a user namespace and installs Airlock's
 * own seccomp filter, so the sandbox matches bwrap's guarantees.
 */
export function planContainer(input: ContainerPlanInput): ContainerCreateOptions {
  const { spec } = input;
  // Under runsc the container's cgroup holds the sentry too (its threads, its memory): the limits
  // get the sentry's share on top, and the sandbox's own process count is held by RLIMIT_NPROC,
  // which the sentry enforces for the one uid that runs processes in its kernel.
  const gvisor = input.runtime === 'runsc';
  const memoryBytes = spec.memoryBytes + (gvisor ? GVISOR_MEMORY_OVERHEAD_BYTES : 0);
  // Under runc the container's processes are host processes of this uid, the session's own; the
  // supervisor's user namespace shows it inside as the agent's uid.
  const hostIds = input.hostIds ?? sandboxUser;
  const hostConfig: HostConfigWithCgroupns = {
    Runtime: input.runtime,
    NetworkMode: 'none',
    Memory: memoryBytes,
    // Equal to Memory: no swap on top of the limit.
    MemorySwap: memoryBytes,
    NanoCpus: Math.max(1, Math.round(spec.cpus * 1e9)),
    PidsLimit: gvisor ? gvisorHostPidsLimit(spec.pids) : spec.pids,
    // nproc counts every process of a uid: under runsc the sentry's one agent uid, under runc the
    // session's own host uid. (With a uid shared by sessions it would have counted them all.)
    Ulimits: [{ Name: 'nproc', Soft: spec.pids, Hard: spec.pids }],
    ReadonlyRootfs: true,
    Tmpfs: {
      '/tmp': tmpfsOptions(spec.scratchBytes, '1777'),
      // runc mounts it in the host's user namespace: the owner is the host uid, which is the agent.
      [sandboxUser.home]: tmpfsOptions(spec.scratchBytes, '0755', gvisor ? sandboxUser : hostIds),
    },
    ShmSize: spec.scratchBytes,
    CapDrop: ['ALL'],
    // Under runsc the supervisor is the sentry's root (no host identity) with just enough to remove
    // the devices gVisor adds and to start commands as the agent's uid, which holds nothing.
    ...(gvisor ? { CapAdd: supervisorCapabilities.map((cap) => cap.replace(/^CAP_/, '')) } : {}),
    SecurityOpt: ['no-new-privileges:true', `seccomp=${input.dockerSeccompProfile}`],
    IpcMode: 'private',
    CgroupnsMode: 'private',
    // The container's /proc and /sys are the host kernel's: what describes the host is masked.
    MaskedPaths: [...dockerMaskedPaths],
    ReadonlyPaths: [...dockerReadonlyPaths],
    // The supervisor is the container's first process; docker-init would add nothing.
    Init: false,
    // Docker copies an image's files into a volume only while the volume is empty; this one never is.
    Mounts: [
      { Type: 'volume', Source: input.sharedVolume, Target: sharedDirInContainer, ReadOnly: true },
      ...dockerEgressMounts(spec),
    ],
    Binds: input.etcFiles.map(({ source, destination }) => `${source}:${destination}:ro`),
    LogConfig: { Type: 'none', Config: {} },
    AutoRemove: false,
  };
  return {
    name: input.name,
    Image: input.image,
    Hostname: sandboxHostname,
    User: gvisor ? '0:0' : `${hostIds.uid}:${hostIds.gid}`,
    WorkingDir: sandboxUser.home,
    // The host's environment never reaches the sandbox; commands get theirs per exec.
    Env: [],
    Entrypoint: [supervisorInContainer],
    // Under runc the container shares the host's user namespace unless the supervisor makes its own;
    // under runsc the sentry's kernel already has one that is not the host's.
    Cmd: [
      'confine',
      ...(gvisor
        ? [
            ...devicesRemoved.flatMap((path) => ['--remove', path]),
            '--user',
            `${sandboxUser.uid}:${sandboxUser.gid}`,
          ]
        : ['--userns', `${sandboxUser.uid}:${sandboxUser.gid}`]),
      '--seccomp',
      seccompInContainer,
      ...egressBridgeArgs(spec.egress),
    ],
    // The supervisor speaks its framed protocol over the attached stdin/stdout. StdinOnce closes its
    // stdin when the control plane's attachment goes (a crash included): the supervisor then exits
    // and the container ends, as a bwrap sandbox dies with its parent.
    OpenStdin: true,
    StdinOnce: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: false,
    NetworkDisabled: true,
    Labels: {
      [labelKeys.sandbox]: input.id,
      [labelKeys.session]: input.session,
      [labelKeys.host]: input.host,
      [labelKeys.state]: input.state,
    },
    HostConfig: hostConfig,
  };
}

/**
 * The session's egress files read-only (the shared volume has their mount points: it is mounted
 * read-only, so none could be made in it; Docker makes the system bundle's in the image's root when
 * the image has none). A bind names its host source in the container's mount table: the egress
 * directory's path is the one host path a container with egress learns.
 */
function dockerEgressMounts(spec: SandboxSpec): MountSettings[] {
  return egressMounts(spec.egress, true).map(({ source, destination }) => ({
    Type: 'bind',
    Source: source,
    Target: destination,
    ReadOnly: true,
  }));
}

/**
 * Syscalls Docker itself refuses before the supervisor runs: Airlock's own refusal list, less
 * `unshare`, which the supervisor needs once for its user namespace (Docker's default profile is not
 * used because it refuses exactly that). Airlock's full filter is installed by the supervisor before
 * any command runs; this is the defence for the moment before. Names the daemon's libseccomp does
 * not know are skipped by runc.
 */
const refusedByDocker = REFUSED_SYSCALLS.filter((name) => name !== 'unshare');

export function dockerSeccompProfile(): string {
  return JSON.stringify({
    defaultAction: 'SCMP_ACT_ALLOW',
    syscalls: [{ names: refusedByDocker, action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
  });
}

/*
 * Security limitations
 * - With runtime runc the sandbox shares the host kernel, as under bwrap. Its processes are host
 *   processes of the session's own uid (from sandbox.uidRange), shown inside as the agent's 1000 by
 *   the supervisor's user namespace; the container itself starts as that uid, never as host root.
 * - Under runsc the supervisor is root of the sentry's kernel (no host identity) holding CAP_SETUID,
 *   CAP_SETGID, CAP_SETPCAP and CAP_KILL for as long as the sandbox lives; commands run as uid 1000
 *   with none. Under runc it is pid 1 with the commands' uid, kept from them as under bwrap.
 * - /proc and /sys are the host kernel's, with host-masks.ts masked; the rest of /sys (devices,
 *   block, class, fs/cgroup) stays visible read-only, as in any Docker container.
 * - Docker's own seccomp profile is an allow-list-by-default with the refusals above; the strict
 *   filter is Airlock's, installed by the supervisor.
 */
