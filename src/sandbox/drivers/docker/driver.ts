import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { UidLease, UidRange } from '../../host-uids/index.ts';
import { DEFAULT_UID_RANGE, createHostUidAllocator, defaultUidLockDir } from '../../host-uids/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { defaultCaptureLimits } from '../../output/index.ts';
import { onceUnlessFailed } from '../../once.ts';
import { validateSpec } from '../../spec.ts';
import { sessionName } from '../../state-dir/index.ts';
import { defaultHelperPath } from '../../supervisor/index.ts';
import type { Driver, Sandbox, SandboxSpec } from '../../types.ts';
import { createImageResolver } from './images.ts';
import type { DockerRuntime } from './plan.ts';
import { prepareDocker } from './prepare.ts';
import { createDockerSandbox } from './sandbox.ts';
import { createSharedFilesVolume } from './shared-files.ts';
import { startContainer } from './start-container.ts';
import { stateLabel, sweepDockerLeftovers } from './sweep.ts';
import { unavailable } from './unavailable.ts';

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
  const imageFor = createImageResolver({ baseImage: options.baseImage, socket });
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
  const sharedFiles = createSharedFilesVolume({ helperPath, host, state, socket });
  const removeShared = (): Promise<void> =>
    sharedFiles.remove(async () => (await prepared.current()?.catch(() => undefined))?.docker);

  const prepared = onceUnlessFailed(() =>
    prepareDocker({
      helperPath,
      docker: options.docker,
      socket,
      runtime,
      stateDirs: [stateDir, baseDir, sandboxesDir],
    }),
  );
  const prepare = prepared.get;

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
    const files = await sharedFiles.get(docker, image);
    const id = randomBytes(6).toString('hex');
    const session = sessionName(id);
    const dir = join(sandboxesDir, session);
    const lease: UidLease | undefined = uids?.allocate();
    mkdirSync(dir, { mode: 0o700 });

    const { container, stream, client, exited, oomFile } = await startContainer({
      docker,
      spec,
      id,
      session,
      host,
      state,
      image,
      runtime,
      files,
      profile: ready.profile,
      lease,
      dir,
      socket,
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
    });
    // Docker refuses to remove a volume any container refers to, running or not: the count goes
    // down only once the container is removed.
    live += 1;
    return createDockerSandbox({
      id,
      spec,
      runtime,
      image,
      client,
      container,
      stream,
      exited,
      dir,
      lease,
      oomFile,
      socket,
      captureLimits: options.captureLimits ?? defaultCaptureLimits,
      maxFileBytes: options.maxFileBytes ?? 64 * 1024 * 1024,
      async removed() {
        live -= 1;
        if (closed && live === 0) await removeShared();
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
