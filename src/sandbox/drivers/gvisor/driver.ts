import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { AirlockError } from '../../../errors/index.ts';
import { createCgroupManager, readCgroupLayout } from '../../cgroups/index.ts';
import type { CgroupLimits, CgroupManager } from '../../cgroups/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { defaultCaptureLimits } from '../../output/index.ts';
import { buildSeccompFilter, hostSeccompArch } from '../../seccomp/index.ts';
import { validateSpec } from '../../spec.ts';
import { SYSTEM_CA_BUNDLE } from '../../egress-mount.ts';
import {
  assertBridge,
  SupervisorClient,
  defaultHelperPath,
  helperMissingMessage,
  isExecutable,
  processIsolation,
  withinStartTimeout,
  SupervisedSandbox,
} from '../../supervisor/index.ts';
import type { SupervisorFacts } from '../../supervisor/index.ts';
import type { Driver, Sandbox, SandboxSnapshot, SandboxSpec } from '../../types.ts';
import { createSpareLauncher, spawnLauncher } from '../../launcher/index.ts';
import type { ParkedLauncher } from '../../launcher/index.ts';
import { commandEnvironment } from '../../layout/index.ts';
import { ensurePrivateDir, sessionName } from '../../state-dir/index.ts';
import {
  hostLimitsFor,
  planOciConfig,
  planParkedLauncher,
  planRunscRun,
  runscCommand,
  runscGlobalArgs,
} from './plan.ts';
import type { GvisorPlatform } from './plan.ts';
import { choosePlatform } from './platform.ts';
import { findRunsc, runscQuiet } from './runsc.ts';
import { CONTAINER_PREFIX, sweepGvisorLeftovers } from './sweep.ts';
import { checkpointSandbox, readSnapshot } from './snapshots.ts';
import { buildSkeleton } from './rootfs.ts';
import type { Skeleton } from './rootfs.ts';

export interface GvisorDriverOptions {
  /** Per-sandbox host state (bundles, output spools, runsc state). Default: `<tmpdir>/airlock-<uid>`. */
  stateDir?: string;
  runscPath?: string;
  helperPath?: string;
  /** Default: the best one that starts here (systrap, then KVM when usable, then ptrace). */
  platform?: GvisorPlatform | 'auto';
  cgroupParent?: string;
  captureLimits?: CaptureLimits;
  /** Largest file `writeFile`/`readFile` move. Default 64 MiB. */
  maxFileBytes?: number;
  /** How long a new sandbox may take to report ready. Default 15 s. */
  startTimeoutMs?: number;
  /**
   * Keep one launcher started ahead of need: a helper process already inside a fresh session's
   * cgroups (with tiny limits until it is used), waiting to be told to run runsc. The next `create`
   * then skips making the cgroups and starting a process. Default true.
   */
  prespawnLauncher?: boolean;
  /**
   * Sweep leftovers of control planes that are gone before the first sandbox. Default true; false
   * when the caller sweeps every driver at start-up itself (`sweepLeftovers`).
   */
  sweepOnFirstCreate?: boolean;
}

/** /proc of a sandbox holds its processes plus ~60 fixed entries; the pids limit bounds the rest. */
const MAX_PROC_ENTRIES = 100_000;

/** A parked launcher with the name of the session it will become. */
interface Parked extends ParkedLauncher {
  id: string;
  name: string;
}

function unavailable(message: string, reason: string): AirlockError {
  return new AirlockError('SANDBOX_UNAVAILABLE', message, { driver: 'gvisor', reason });
}

interface Prepared {
  runscPath: string;
  /** The argv that starts a runsc management call (see `runscCommand`). */
  runscCommand: string[];
  platform: GvisorPlatform;
  cgroups: CgroupManager;
  programs: Buffer[];
}

/**
 * The gVisor driver: each session is a `runsc run` of an OCI bundle (no daemon), started inside the
 * session's host cgroups by airlock-helper `launch`, whose first process is the airlock-helper
 * supervisor (`confine`). Commands and file copies go through that supervisor's framed protocol on
 * runsc's stdio, not through `runsc exec` per command: a `runsc exec` process has no parent inside
 * the sandbox that could act as its subreaper, so a timeout could not find what it double-forked or
 * setsid'd, and killing it from outside leaves its children behind. The supervisor gives the same
 * keeper-per-command kill-tree, timeouts, O_NOFOLLOW file copies and output backpressure as under
 * bwrap; the containment suite checks they are identical. `runsc checkpoint` / `restore` back
 * `sandbox.snapshot()` / `driver.restore()`.
 */
export function createGvisorDriver(options: GvisorDriverOptions = {}): Driver {
  const helperPath = options.helperPath ?? defaultHelperPath;
  const stateDir = options.stateDir ?? join(tmpdir(), `airlock-${process.getuid?.() ?? 'user'}`);
  const baseDir = join(stateDir, 'gvisor');
  const sandboxesDir = join(baseDir, 'sandboxes');
  const skeletonsDir = join(baseDir, 'images');
  const runscRoot = join(baseDir, 'runsc');
  const snapshotsDir = join(baseDir, 'snapshots');
  let prepared: Promise<Prepared> | undefined;
  const skeletons = new Map<string, Skeleton>();
  let sweptOnce = options.sweepOnFirstCreate === false;
  let closed = false;
  /** Skeletons are shared by live sandboxes: close() removes them only once none is left. */
  let live = 0;

  async function prepareOnce(): Promise<Prepared> {
    if (process.platform !== 'linux')
      throw unavailable('gVisor runs on Linux only; use another driver', 'not linux');
    const runscPath = findRunsc(options.runscPath);
    if (runscPath === undefined) {
      throw unavailable(
        'gVisor (runsc) is not installed: install it (Debian/Ubuntu: apt-get install runsc) or use another driver',
        'runsc missing',
      );
    }
    if (process.getuid?.() !== 0) {
      throw unavailable(
        'the gVisor driver needs root (runsc creates the sandbox and its cgroups): run Airlock as root or use --driver bwrap',
        'not root',
      );
    }
    if (!isExecutable(helperPath)) {
      throw unavailable(helperMissingMessage(helperPath), 'helper missing');
    }
    for (const dir of [stateDir, baseDir, sandboxesDir, skeletonsDir, runscRoot, snapshotsDir]) {
      ensurePrivateDir(dir);
    }
    let platform: GvisorPlatform;
    if (options.platform && options.platform !== 'auto') {
      platform = options.platform;
    } else {
      try {
        platform = (await choosePlatform(runscPath, baseDir)).platform;
      } catch (error) {
        throw unavailable(
          `no gVisor platform starts a sandbox on this machine (${(error as Error).message}); use --driver bwrap`,
          'no platform',
        );
      }
    }
    const arch = hostSeccompArch();
    const cgroups = createCgroupManager({
      layout: await readCgroupLayout(),
      ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    });
    return {
      runscPath,
      runscCommand: runscCommand({ helperPath, runscPath, platform }),
      platform,
      cgroups,
      programs: [buildSeccompFilter({ arch })],
    };
  }

  function prepare(): Promise<Prepared> {
    prepared ??= prepareOnce().catch((error: unknown) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  }

  function skeletonFor(image: string, ready: Prepared): Skeleton {
    const existing = skeletons.get(image);
    if (existing) return existing;
    if (image !== 'host' && !existsSync(join(image, 'usr'))) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `image ${image} is not a rootfs directory (no usr/ in it); use "host" or a directory made by debootstrap`,
        { image },
      );
    }
    const dir = join(skeletonsDir, sessionName(randomBytes(4).toString('hex')));
    try {
      const skeleton = buildSkeleton({ dir, image, helperPath, seccompPrograms: ready.programs });
      skeletons.set(image, skeleton);
      return skeleton;
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  async function deleteContainer(ready: Prepared, containerId: string): Promise<void> {
    await runscQuiet(ready.runscCommand, [
      ...runscGlobalArgs({ stateRoot: runscRoot, platform: ready.platform }),
      'delete',
      '--force',
      containerId,
    ]);
  }

  function sweepStale(): Promise<number> {
    return sweepGvisorLeftovers({
      stateDir,
      cgroups: true,
      ...(options.cgroupParent === undefined ? {} : { cgroupParent: options.cgroupParent }),
      ...(options.runscPath === undefined ? {} : { runscPath: options.runscPath }),
      helperPath,
    });
  }

  /**
   * Makes a session's cgroups and starts a launcher inside them, parked on its instructions fd: runsc
   * and everything it starts are then born inside the session's limits, whenever it is started.
   */
  async function park(ready: Prepared, limits: CgroupLimits): Promise<Parked> {
    const id = randomBytes(6).toString('hex');
    const name = sessionName(id);
    const cgroup = await ready.cgroups.create(name, limits);
    try {
      const launcher = spawnLauncher(
        planParkedLauncher({ helperPath, cgroupProcsFiles: cgroup.procsFiles, platform: ready.platform }),
      );
      return { id, name, cgroup, launcher };
    } catch (error) {
      await cgroup.remove();
      throw error;
    }
  }

  async function discard(parked: Parked): Promise<void> {
    await parked.launcher.abandon();
    await parked.cgroup.remove();
  }

  const spare = createSpareLauncher({ enabled: options.prespawnLauncher ?? true, discard });

  async function create(input: SandboxSpec): Promise<Sandbox> {
    return start(validateSpec(input), undefined);
  }

  /** A fresh sandbox (`from` undefined) or one restored from a checkpoint. */
  async function start(
    spec: SandboxSpec,
    from: { dir: string; resumeAt: number; facts: SupervisorFacts | undefined } | undefined,
  ): Promise<Sandbox> {
    if (closed) throw unavailable('the driver was closed', 'closed');
    const ready = await prepare();
    if (!sweptOnce) {
      // A control plane that crashed left its sandboxes, cgroups and bundles behind.
      sweptOnce = true;
      await sweepStale();
    }
    const skeleton = skeletonFor(spec.image, ready);
    const limits = hostLimitsFor(spec);
    const parked = (await spare.take(limits)) ?? (await park(ready, limits));
    const { id, name, cgroup, launcher } = parked;
    const containerId = `${CONTAINER_PREFIX}${name}`;
    const dir = join(sandboxesDir, name);
    const cleanup = async (): Promise<void> => {
      launcher.child.kill('SIGKILL');
      await launcher.exited;
      await cgroup.remove();
      await deleteContainer(ready, containerId);
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      mkdirSync(dir, { mode: 0o700 });
      const bundleDir = join(dir, 'bundle');
      mkdirSync(bundleDir, { mode: 0o700 });
      writeFileSync(
        join(bundleDir, 'config.json'),
        JSON.stringify(
          planOciConfig({
            spec,
            rootfsDir: skeleton.rootfsDir,
            binds: skeleton.binds,
            systemCaBundle: existsSync(join(skeleton.rootfsDir, SYSTEM_CA_BUNDLE)),
          }),
        ),
        { mode: 0o600 },
      );
      // The launcher is already inside the session's cgroups: runsc is born there, and so is every
      // process it starts.
      launcher.start(
        planRunscRun({
          runscPath: ready.runscPath,
          stateRoot: runscRoot,
          platform: ready.platform,
          bundleDir,
          containerId,
          ...(from ? { restoreFrom: from.dir } : {}),
          ...(spec.egress === undefined ? {} : { egress: true }),
        }),
      );
    } catch (error) {
      await cleanup();
      throw error;
    }
    const { child } = launcher;
    const client = new SupervisorClient(
      child.stdin as Writable,
      child.stdout!,
      from ? { resumeAt: from.resumeAt } : {},
    );
    const startTimeoutMs = options.startTimeoutMs ?? 15_000;
    try {
      // A restored supervisor said ready long ago: a listing of /proc proves it answers again.
      await withinStartTimeout(from ? client.list('/proc', MAX_PROC_ENTRIES) : client.ready, startTimeoutMs);
      if (!from) assertBridge(spec, client);
    } catch (error) {
      const detail = launcher.firstErrorLine() || (error as Error).message;
      await cleanup();
      throw unavailable(
        `the gVisor sandbox did not ${from ? 'restore' : 'start'}: ${detail}`,
        from ? 'restore failed' : 'start failed',
      );
    } finally {
      // Only now: making the next spare competes for the CPU with a sandbox still starting.
      spare.refill((parkedLimits) => park(ready, parkedLimits));
    }

    const session = cgroup;
    const started = launcher;
    const facts = from ? from.facts : client.facts;
    // The sentry is the commands' kernel: the host's Yama does not apply to them.
    const processes = processIsolation(facts, { hostUid: null, yamaPtraceScope: null });
    live += 1;
    // Best effort: a failure to remove the skeletons must not become an unhandled rejection.
    void started.exited
      .then(() => {
        live -= 1;
        if (closed && live === 0) removeSkeletons();
      })
      .catch(() => {});
    return new SupervisedSandbox({
      id,
      driver: 'gvisor',
      info: { isolation: 'gvisor', platform: ready.platform, ...(processes ? { processes } : {}) },
      spec,
      client,
      exited: started.exited,
      dir,
      shell: skeleton.shell,
      environment: (execEnv) => commandEnvironment(spec.env, execEnv),
      captureLimits: options.captureLimits ?? defaultCaptureLimits,
      maxFileBytes: options.maxFileBytes ?? 64 * 1024 * 1024,
      oomKillCount: () => session.oomKillCount(),
      async usage() {
        const [usage, oomKills, processes] = await Promise.all([
          session.stats(),
          session.oomKillCount(),
          // The host cgroup's task count is mostly the sentry's own threads; the sandbox's processes
          // are the ones its own kernel lists.
          client.list('/proc', MAX_PROC_ENTRIES),
        ]);
        return {
          memoryBytes: usage.memoryBytes,
          memoryPeakBytes: usage.memoryPeakBytes ?? null,
          pids: processes.filter((entry) => entry.kind === 'directory' && /^\d+$/.test(entry.name)).length,
          cpuUsageMs: usage.cpuUsageNs / 1e6,
          oomKills,
        };
      },
      async teardown() {
        // runsc was started with the sandbox attached: killing it takes the sentry down; the
        // cgroup removal then kills the gofer and any straggler, and delete drops runsc's state.
        child.kill('SIGKILL');
        await started.exited;
        await session.remove();
        await deleteContainer(ready, containerId);
        rmSync(dir, { recursive: true, force: true });
      },
      checkpoint: (nextRequestId) =>
        checkpointSandbox({
          runscCommand: ready.runscCommand,
          globalArgs: runscGlobalArgs({ stateRoot: runscRoot, platform: ready.platform }),
          containerId,
          snapshotsDir,
          meta: { spec, platform: ready.platform, resumeAt: nextRequestId, ...(facts ? { facts } : {}) },
        }),
    });
  }

  async function restore(snapshot: SandboxSnapshot): Promise<Sandbox> {
    await prepare();
    const { dir, meta } = readSnapshot(snapshotsDir, snapshot);
    // The checkpointed session's egress directory belongs to that session (and may be gone): a
    // restored sandbox has no way out; its bridge finds no socket and closes what connects to it.
    const { egress: _egress, ...spec } = meta.spec;
    return start(validateSpec(spec), { dir, resumeAt: meta.resumeAt, facts: meta.facts });
  }

  function removeSkeletons(): void {
    for (const skeleton of skeletons.values())
      rmSync(join(skeleton.rootfsDir, '..'), { recursive: true, force: true });
    skeletons.clear();
  }

  return {
    name: 'gvisor',
    create,
    restore,
    async close() {
      closed = true;
      await spare.close();
      if (live === 0) removeSkeletons();
    },
    async sweepStale() {
      sweptOnce = true;
      return sweepStale();
    },
  };
}
