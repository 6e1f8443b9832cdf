import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import type Docker from 'dockerode';
import { AirlockError, isAirlockError } from '../../../errors/index.ts';
import { baseImageTag, connectDocker, dockerUnavailable, importRootfsImage } from '../../image/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { defaultCaptureLimits } from '../../output/index.ts';
import { buildSeccompFilter, hostSeccompArch } from '../../seccomp/index.ts';
import { validateSpec } from '../../spec.ts';
import {
  assertBridge,
  SupervisorClient,
  defaultHelperPath,
  helperMissingMessage,
  isExecutable,
  processIsolation,
  readYamaPtraceScope,
  withinStartTimeout,
  SupervisedSandbox,
} from '../../supervisor/index.ts';
import { grantEgressAccess } from '../../egress-mount.ts';
import { DEFAULT_UID_RANGE, createHostUidAllocator, defaultUidLockDir } from '../../host-uids/index.ts';
import type { UidLease, UidRange } from '../../host-uids/index.ts';
import type { Driver, Sandbox, SandboxSpec } from '../../types.ts';
import { generatedEtcFiles, shellFor, commandEnvironment } from '../../layout/index.ts';
import { ensurePrivateDir, sessionName } from '../../state-dir/index.ts';
import { DockerStreamDemux } from './demux.ts';
import { oomCounterFile, readOomKills } from './oom-counter.ts';
import { dockerSeccompProfile, labelKeys, planContainer } from './plan.ts';
import type { DockerRuntime } from './plan.ts';
import { killContainer, removeContainer, statusOf } from './containers.ts';
import { createSharedVolume } from './shared-volume.ts';
import { stateLabel, sweepDockerLeftovers } from './sweep.ts';

export interface DockerDriverOptions {
  /** Per-sandbox host state (output spools, the seccomp program). Default: `<tmpdir>/airlock-<uid>`. */
  stateDir?: string;
  /** The daemon's socket. Default /var/run/docker.sock. */
  dockerSocket?: string;
  /** An Engine API client to use instead (tests). */
  docker?: Docker;
  /** OCI runtime: `runc` (default) or `runsc` once registered with the daemon. */
  runtime?: DockerRuntime;
  /** Image for `image: host` sandboxes. Default: the base image `airlock image build` makes. */
  baseImage?: string;
  helperPath?: string;
  captureLimits?: CaptureLimits;
  /** Largest file `writeFile`/`readFile` move. Default 64 MiB. */
  maxFileBytes?: number;
  /** How long a new container may take to report ready. Default 15 s. */
  startTimeoutMs?: number;
  /**
   * Host uids containers run as under runc, one per session (with the gid of the same number).
   * Default DEFAULT_UID_RANGE. Under runsc processes live inside the sentry and no host uid is used.
   */
  uidRange?: UidRange;
  /** Where the control planes on this host record the uids they hold. Default: defaultUidLockDir(). */
  uidLockDir?: string;
  /**
   * Sweep leftovers of control planes that are gone before the first sandbox. Default true; false
   * when the caller sweeps every driver at start-up itself (`sweepLeftovers`).
   */
  sweepOnFirstCreate?: boolean;
}

/** /proc of a sandbox holds its processes plus ~60 fixed entries; the pids limit bounds the rest. */
const MAX_PROC_ENTRIES = 100_000;

function unavailable(message: string, reason: string): AirlockError {
  return new AirlockError('SANDBOX_UNAVAILABLE', message, { driver: 'docker', reason });
}

/** Whether a runtime's registration (Engine /info Runtimes entry) passes runsc --host-uds open or all. */
export function allowsHostSockets(registration: unknown): boolean {
  const args = (registration as { runtimeArgs?: unknown } | undefined)?.runtimeArgs;
  return Array.isArray(args) && args.some((arg) => /^--?host-uds=(open|all)$/.test(String(arg)));
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

interface Prepared {
  docker: Docker;
  profile: string;
  /** The runsc runtime lets sandboxes connect to host Unix sockets (needed for egress). */
  runscHostUds: boolean;
}

interface SharedFiles {
  volume: string;
  etcFiles: { source: string; destination: string }[];
}

/**
 * The Docker driver, through the Engine API (dockerode). Each session is one labelled container whose
 * first process is the airlock-helper supervisor; the control plane attaches to its stdin/stdout
 * (Engine attach, demultiplexed) and speaks the supervisor's framed protocol. That replaces Engine
 * `exec` and put/get-archive, for reasons measured here: the Engine API has no call that signals an
 * exec'd process, so a timeout could not kill a command's tree; exec'd processes have no parent
 * inside the container to reap and find their double-forked children; put/get-archive cannot reach
 * the tmpfs scratch of a read-only root and follows the agent's symlinks inside the container.
 * Stats come from the Engine's stats API; OOM kills from the container's memory cgroup.
 */
export function createDockerDriver(options: DockerDriverOptions = {}): Driver {
  const helperPath = options.helperPath ?? defaultHelperPath;
  const stateDir = options.stateDir ?? join(tmpdir(), `airlock-${process.getuid?.() ?? 'user'}`);
  const baseDir = join(stateDir, 'docker');
  const sandboxesDir = join(baseDir, 'sandboxes');
  const runtime = options.runtime ?? 'runc';
  const socket = options.dockerSocket;
  const host = hostname();
  const state = stateLabel(stateDir);
  let prepared: Promise<Prepared> | undefined;
  const images = new Map<string, Promise<string>>();
  let sweptOnce = options.sweepOnFirstCreate === false;
  let closed = false;
  // Under runc a container's processes are host processes of the uid it runs as: one per session.
  const uids =
    runtime === 'runc'
      ? createHostUidAllocator({
          range: options.uidRange ?? DEFAULT_UID_RANGE,
          lockDir: options.uidLockDir ?? defaultUidLockDir(),
        })
      : undefined;
  /** Containers not yet removed mount the shared volume: it is removed only once none is left. */
  let live = 0;
  let shared: Promise<SharedFiles> | undefined;

  async function removeShared(): Promise<void> {
    const ready = await shared?.catch(() => undefined);
    const docker = (await prepared?.catch(() => undefined))?.docker;
    if (ready && docker) {
      await docker
        .getVolume(ready.volume)
        .remove()
        .catch(() => {});
    }
  }

  async function prepareOnce(): Promise<Prepared> {
    if (!isExecutable(helperPath)) throw unavailable(helperMissingMessage(helperPath), 'helper missing');
    const docker = options.docker ?? connectDocker(socket);
    let runtimes: Record<string, unknown>;
    try {
      await docker.ping();
      runtimes = ((await docker.info()) as { Runtimes?: Record<string, unknown> }).Runtimes ?? {};
    } catch (error) {
      throw dockerUnavailable(error, socket);
    }
    if (!(runtime in runtimes)) {
      throw unavailable(
        runtime === 'runsc'
          ? 'the Docker runtime runsc is not registered with the daemon: run runsc install, then reload dockerd (kill -HUP the dockerd process) or use runtime runc'
          : `the Docker runtime ${runtime} is not registered with the daemon (it has ${Object.keys(runtimes).join(', ')})`,
        'runtime not registered',
      );
    }
    ensurePrivateDir(stateDir);
    ensurePrivateDir(baseDir);
    ensurePrivateDir(sandboxesDir);
    return { docker, profile: dockerSeccompProfile(), runscHostUds: allowsHostSockets(runtimes['runsc']) };
  }

  /**
   * The volume with the files every container needs, filled once per driver. Made on the first
   * create, because the container that carries the files into it needs an image that is present.
   */
  function sharedFiles(docker: Docker, image: string): Promise<SharedFiles> {
    shared ??= (async () => {
      const session = sessionName(randomBytes(4).toString('hex'));
      const etc = Object.entries(generatedEtcFiles()).map(([destination, content]) => ({
        destination,
        name: `etc_${destination.slice('/etc/'.length)}`,
        data: Buffer.from(content),
      }));
      const volume = await createSharedVolume({
        docker,
        name: `airlock-shared-${session}`,
        labels: {
          [labelKeys.sandbox]: 'shared',
          [labelKeys.session]: session,
          [labelKeys.host]: host,
          [labelKeys.state]: state,
        },
        image,
        files: [
          { name: 'supervisor', data: readFileSync(helperPath), mode: 0o755 },
          { name: 'seccomp.bpf', data: buildSeccompFilter({ arch: hostSeccompArch() }), mode: 0o644 },
          ...etc.map(({ name, data }) => ({ name, data, mode: 0o644 })),
        ],
      }).catch((error: unknown) => {
        throw isAirlockError(error) ? error : dockerUnavailable(error, socket);
      });
      // Bound over the image's own; a bind on /etc/hosts also replaces the one Docker would write.
      const etcFiles = etc.map(({ name, destination }) => ({
        source: join(volume.mountpoint, name),
        destination,
      }));
      return { volume: volume.name, etcFiles };
    })().catch((error: unknown) => {
      shared = undefined;
      throw error;
    });
    return shared;
  }

  function prepare(): Promise<Prepared> {
    prepared ??= prepareOnce().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  }

  function imageFor(specImage: string, docker: Docker): Promise<string> {
    let found = images.get(specImage);
    if (!found) {
      found = (async () => {
        if (specImage.startsWith('/')) {
          if (!existsSync(join(specImage, 'usr'))) {
            throw new AirlockError(
              'INVALID_ARGUMENT',
              `image ${specImage} is not a rootfs directory (no usr/ in it); use "host" or a directory made by debootstrap`,
              { image: specImage },
            );
          }
          return importRootfsImage(docker, specImage);
        }
        // `host` is the base image; anything else not a path is a local image reference (no registry
        // is ever asked: pulling at session start would hand the choice of image to the network).
        const tag = specImage === 'host' ? (options.baseImage ?? baseImageTag()) : specImage;
        try {
          await docker.getImage(tag).inspect();
        } catch (error) {
          if (statusOf(error) === 404) {
            throw unavailable(
              specImage === 'host'
                ? `the Docker image ${tag} is missing: build it with airlock image build`
                : `the Docker image ${tag} is not on this machine (Airlock never pulls): docker pull or build it first`,
              'image missing',
            );
          }
          throw dockerUnavailable(error, socket);
        }
        return tag;
      })();
      images.set(specImage, found);
      found.catch(() => images.delete(specImage));
    }
    return found;
  }

  async function sweepStale(): Promise<number> {
    const removed = await sweepDockerLeftovers({
      stateDir,
      ...(socket === undefined ? {} : { dockerSocket: socket }),
      ...(options.docker === undefined ? {} : { docker: options.docker }),
    });
    // Uids of dead control planes whose containers are gone now.
    uids?.sweep();
    return removed;
  }

  async function create(input: SandboxSpec): Promise<Sandbox> {
    if (closed) throw unavailable('the driver was closed', 'closed');
    const spec = validateSpec(input, { allowImageReference: true });
    const ready = await prepare();
    if (!sweptOnce) {
      // A control plane that crashed left its containers and spool directories behind.
      sweptOnce = true;
      await sweepStale();
    }
    const { docker } = ready;
    if (spec.egress !== undefined && runtime === 'runsc' && !ready.runscHostUds) {
      // Without it the sentry refuses the proxy's socket and the session would have no network at
      // all while its configuration says otherwise.
      throw unavailable(
        'the Docker runtime runsc does not let sandboxes reach the egress proxy: add "--host-uds=open" to its runtimeArgs in /etc/docker/daemon.json and reload dockerd, or give these sessions network: none',
        'runsc without host-uds',
      );
    }
    const image = await imageFor(spec.image, docker);
    const files = await sharedFiles(docker, image);
    const id = randomBytes(6).toString('hex');
    const session = sessionName(id);
    const dir = join(sandboxesDir, session);
    const lease: UidLease | undefined = uids?.allocate();
    mkdirSync(dir, { mode: 0o700 });

    let container: Docker.Container | undefined;
    let stream: Duplex | undefined;
    let removed = true;
    const cleanup = async (): Promise<void> => {
      stream?.destroy();
      if (container) {
        removed = await container.remove({ force: true }).then(
          () => true,
          (error: unknown) => statusOf(error) === 404,
        );
      }
      rmSync(dir, { recursive: true, force: true });
      // A container that may still run keeps its uid until a sweep has removed it.
      if (removed) lease?.release();
    };
    const stderrTail: Buffer[] = [];
    let client: SupervisorClient;
    let exited: Promise<void>;
    let oomFile: string | undefined;
    try {
      // Under runc the container's processes are the session's uid and gid.
      if (lease) grantEgressAccess(spec.egress, lease.gid);
      container = await docker.createContainer(
        planContainer({
          spec,
          name: `airlock-${session}`,
          id,
          session,
          host,
          state,
          image,
          runtime,
          sharedVolume: files.volume,
          etcFiles: files.etcFiles,
          dockerSeccompProfile: ready.profile,
          ...(lease ? { hostIds: { uid: lease.uid, gid: lease.gid } } : {}),
        }),
      );
      // Attached before start, so not one byte of the supervisor's channel is missed.
      stream = (await container.attach({
        stream: true,
        stdin: true,
        stdout: true,
        stderr: true,
        hijack: true,
      })) as unknown as Duplex;
      const demux = new DockerStreamDemux((chunk) => {
        if (stderrTail.length < 16) stderrTail.push(chunk);
      });
      stream.on('error', () => {});
      stream.pipe(demux);
      exited = new Promise<void>((resolve) => demux.once('close', () => resolve()));
      client = new SupervisorClient(stream as Writable, demux);
      // Observed below; this keeps a start failure from leaving it rejected with no one listening.
      client.ready.catch(() => {});
      await container.start();
      const startTimeoutMs = options.startTimeoutMs ?? 15_000;
      await withinStartTimeout(client.ready, startTimeoutMs);
      assertBridge(spec, client);
      oomFile = oomCounterFile((await container.inspect()).State.Pid);
    } catch (error) {
      await cleanup();
      const said = Buffer.concat(stderrTail).toString().trim().split('\n')[0];
      if (isAirlockError(error) && (error.code !== 'SANDBOX_LOST' || !said)) throw error;
      const why = said || (error as Error).message;
      if (statusOf(error) === undefined && !said) throw dockerUnavailable(error, socket);
      throw unavailable(`the Docker sandbox did not start: ${why}`, 'start failed');
    }

    const started = container;
    const attached = stream;
    // Docker refuses to remove a volume any container refers to, running or not: the count goes
    // down only once the container is removed.
    live += 1;
    const layoutShell =
      spec.image === 'host'
        ? { path: '/usr/bin/bash', args: ['--noprofile', '--norc', '-c'] }
        : spec.image.startsWith('/')
          ? shellFor(spec.image)
          : // An image reference: /bin/sh is the one shell every image that can run commands has.
            { path: '/bin/sh', args: ['-c'] };
    return new SupervisedSandbox({
      id,
      driver: 'docker',
      info: {
        isolation: `docker/${runtime}`,
        runtime,
        image,
        ...optional(
          'processes',
          // Under runsc the commands' kernel is the sentry's, which has no Yama.
          processIsolation(
            client.facts,
            runtime === 'runsc'
              ? { hostUid: null, yamaPtraceScope: null }
              : { hostUid: lease?.uid ?? null, yamaPtraceScope: readYamaPtraceScope() },
          ),
        ),
      },
      spec,
      client,
      exited,
      dir,
      shell: layoutShell,
      environment: (execEnv) => commandEnvironment(spec.env, execEnv),
      captureLimits: options.captureLimits ?? defaultCaptureLimits,
      maxFileBytes: options.maxFileBytes ?? 64 * 1024 * 1024,
      oomKillCount: () => readOomKills(oomFile),
      async usage() {
        let stats: Docker.ContainerStats;
        try {
          stats = await started.stats({ stream: false, 'one-shot': true });
        } catch (error) {
          throw new AirlockError(
            'SANDBOX_LOST',
            `the container's statistics are gone: ${(error as Error).message}`,
            {},
            { cause: error },
          );
        }
        const memory = stats.memory_stats as { usage?: number; max_usage?: number };
        // Under runsc the cgroup's task count is mostly the sentry's threads; the sandbox's own
        // processes are the ones its kernel lists.
        const pids =
          runtime === 'runsc'
            ? (await client.list('/proc', MAX_PROC_ENTRIES)).filter(
                (entry) => entry.kind === 'directory' && /^\d+$/.test(entry.name),
              ).length
            : ((stats.pids_stats as { current?: number } | undefined)?.current ?? 0);
        return {
          memoryBytes: memory.usage ?? 0,
          memoryPeakBytes: memory.max_usage ?? null,
          pids,
          cpuUsageMs: (stats.cpu_stats?.cpu_usage?.total_usage ?? 0) / 1e6,
          oomKills: await readOomKills(oomFile),
        };
      },
      async teardown() {
        try {
          await killContainer(started, socket);
          attached.destroy();
          await removeContainer(started, socket);
          // The container is gone, and every process of its uid with it.
          lease?.release();
        } finally {
          live -= 1;
          if (closed && live === 0) await removeShared();
        }
      },
    });
  }

  return {
    name: 'docker',
    create,
    async close() {
      closed = true;
      if (live === 0) await removeShared();
    },
    async sweepStale() {
      sweptOnce = true;
      return sweepStale();
    },
  };
}
