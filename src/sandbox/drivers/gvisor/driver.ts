import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSpareLauncher } from '../../launcher/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { defaultCaptureLimits } from '../../output/index.ts';
import { onceUnlessFailed } from '../../once.ts';
import { validateSpec } from '../../spec.ts';
import { SupervisorClient, defaultHelperPath } from '../../supervisor/index.ts';
import type { SupervisorFacts } from '../../supervisor/index.ts';
import type { Driver, Sandbox, SandboxSnapshot, SandboxSpec } from '../../types.ts';
import { writeBundle } from './bundle.ts';
import { discard, park } from './park.ts';
import { hostLimitsFor, planRunscRun, runscGlobalArgs } from './plan.ts';
import type { GvisorPlatform } from './plan.ts';
import { prepareGvisor } from './prepare.ts';
import { deleteRunscContainer } from './runsc.ts';
import { createGvisorSandbox } from './sandbox.ts';
import { readSnapshot } from './snapshots.ts';
import { connectSupervisor } from './connect.ts';
import { createSkeletonCache } from './skeletons.ts';
import { CONTAINER_PREFIX, sweepGvisorLeftovers } from './sweep.ts';
import { unavailable } from './unavailable.ts';

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
  const skeletons = createSkeletonCache({ skeletonsDir, helperPath });
  let sweptOnce = options.sweepOnFirstCreate === false;
  let closed = false;

  const prepared = onceUnlessFailed(() =>
    prepareGvisor({
      helperPath,
      runscPath: options.runscPath,
      platform: options.platform,
      cgroupParent: options.cgroupParent,
      stateDirs: [stateDir, baseDir, sandboxesDir, skeletonsDir, runscRoot, snapshotsDir],
      baseDir,
    }),
  );
  const prepare = prepared.get;

  function sweepStale(): Promise<number> {
    return sweepGvisorLeftovers({
      stateDir,
      cgroups: true,
      ...(options.cgroupParent === undefined ? {} : { cgroupParent: options.cgroupParent }),
      ...(options.runscPath === undefined ? {} : { runscPath: options.runscPath }),
      helperPath,
    });
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
    const skeleton = skeletons.get(spec.image, ready.programs);
    const limits = hostLimitsFor(spec);
    const parked = (await spare.take(limits)) ?? (await park(ready, helperPath, limits));
    const { id, name, cgroup, launcher } = parked;
    const containerId = `${CONTAINER_PREFIX}${name}`;
    const dir = join(sandboxesDir, name);
    const globalArgs = runscGlobalArgs({ stateRoot: runscRoot, platform: ready.platform });
    const deleteContainer = (): Promise<void> =>
      deleteRunscContainer(ready.runscCommand, globalArgs, containerId);
    const cleanup = async (): Promise<void> => {
      launcher.child.kill('SIGKILL');
      await launcher.exited;
      await cgroup.remove();
      await deleteContainer();
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      // The launcher is already inside the session's cgroups: runsc is born there, and so is every
      // process it starts.
      launcher.start(
        planRunscRun({
          runscPath: ready.runscPath,
          stateRoot: runscRoot,
          platform: ready.platform,
          bundleDir: writeBundle(dir, spec, skeleton),
          containerId,
          ...(from ? { restoreFrom: from.dir } : {}),
          ...(spec.egress === undefined ? {} : { egress: true }),
        }),
      );
    } catch (error) {
      await cleanup();
      throw error;
    }
    let client: SupervisorClient;
    try {
      client = await connectSupervisor({
        launcher,
        spec,
        resumeAt: from?.resumeAt,
        startTimeoutMs: options.startTimeoutMs ?? 15_000,
        cleanup,
      });
    } finally {
      // Only now: making the next spare competes for the CPU with a sandbox still starting.
      spare.refill((parkedLimits) => park(ready, helperPath, parkedLimits));
    }

    const facts = from ? from.facts : client.facts;
    skeletons.holdUntil(launcher.exited);
    return createGvisorSandbox({
      id,
      spec,
      client,
      facts,
      launcher,
      cgroup,
      dir,
      shell: skeleton.shell,
      platform: ready.platform,
      captureLimits: options.captureLimits ?? defaultCaptureLimits,
      maxFileBytes: options.maxFileBytes ?? 64 * 1024 * 1024,
      deleteContainer,
      checkpoint: {
        runscCommand: ready.runscCommand,
        globalArgs,
        containerId,
        snapshotsDir,
      },
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

  return {
    name: 'gvisor',
    create,
    restore,
    async close() {
      closed = true;
      await spare.close();
      skeletons.close();
    },
    async sweepStale() {
      sweptOnce = true;
      return sweepStale();
    },
  };
}
