import { existsSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { AirlockError, isAirlockError } from '../../../errors/index.ts';
import { createCgroupManager, readCgroupLayout } from '../../cgroups/index.ts';
import type { CgroupLimits, CgroupManager } from '../../cgroups/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { defaultCaptureLimits } from '../../output/index.ts';
import { buildSeccompFilter, hostSeccompArch } from '../../seccomp/index.ts';
import { validateSpec } from '../../spec.ts';
import {
  SupervisorClient,
  defaultHelperPath,
  helperMissingMessage,
  isExecutable,
  publishHelperForSessions,
  processIsolation,
  readYamaPtraceScope,
  withinStartTimeout,
  assertBridge,
} from '../../supervisor/index.ts';
import { DEFAULT_UID_RANGE, createHostUidAllocator, defaultUidLockDir } from '../../host-uids/index.ts';
import type { UidRange } from '../../host-uids/index.ts';
import type { Driver, Sandbox, SandboxSpec } from '../../types.ts';
import { SYSTEM_CA_BUNDLE, grantEgressAccess } from '../../egress-mount.ts';
import { readHostLayout, readImageLayout, readProcMasks } from '../../layout/index.ts';
import type { HostLayout } from '../../layout/index.ts';
import { createSpareLauncher } from '../../launcher/index.ts';
import { explainStartFailure } from './start-failure.ts';
import { discardPending, launchPending } from './launch.ts';
import type { PendingSandbox } from './launch.ts';
import { planBwrap, planInstructions } from './plan.ts';
import { createBwrapSandbox } from './sandbox.ts';
import { ensurePrivateDir } from '../../state-dir/index.ts';
import { sweepBwrapLeftovers } from './sweep.ts';

export interface BwrapDriverOptions {
  /** Per-sandbox host state (output spools). Default: `<tmpdir>/airlock-<uid>`. */
  stateDir?: string;
  bwrapPath?: string;
  helperPath?: string;
  /**
   * Host uids sessions run as, one each (with the gid of the same number), when the control plane
   * is root; without root every session runs as the control plane's uid. Default DEFAULT_UID_RANGE.
   */
  uidRange?: UidRange;
  /** Where the control planes on this host record the uids they hold. Default: defaultUidLockDir(). */
  uidLockDir?: string;
  /** Parent cgroup for sessions; default chosen by the cgroup module (see there). */
  cgroupParent?: string;
  captureLimits?: CaptureLimits;
  /** Largest file `writeFile`/`readFile` move. Default 64 MiB. */
  maxFileBytes?: number;
  /** How long a new sandbox may take to report ready. Default 10 s. */
  startTimeoutMs?: number;
  /**
   * Keep one launcher started ahead of need (already in fresh cgroups, privileges dropped, nothing
   * run yet), so the next `create` skips process start and cgroup join. Default true.
   */
  prespawnLauncher?: boolean;
  /**
   * Sweep leftovers of control planes that are gone before the first sandbox. Default true; false
   * when the caller sweeps every driver at start-up itself (`sweepLeftovers`).
   */
  sweepOnFirstCreate?: boolean;
}

// Fixed locations only: resolving through the host's PATH would let whoever controls PATH pick the
// binary that builds our isolation.
const bwrapCandidates = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'];

/** Refuses, with the fix, every missing piece instead of running a command without protection. */
function checkPrerequisites(bwrapPath: string | undefined, helperPath: string): string {
  const bwrap = bwrapPath ?? bwrapCandidates.find(isExecutable);
  if (!bwrap || !isExecutable(bwrap)) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      'bubblewrap (bwrap) is not installed: install it (Debian/Ubuntu: apt-get install bubblewrap) or use another driver',
      { missing: 'bwrap' },
    );
  }
  if (!isExecutable(helperPath)) {
    throw new AirlockError('SANDBOX_UNAVAILABLE', helperMissingMessage(helperPath), {
      missing: 'airlock-helper',
    });
  }
  try {
    const max = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim());
    if (max === 0) {
      throw new AirlockError(
        'SANDBOX_UNAVAILABLE',
        'user namespaces are disabled (user.max_user_namespaces = 0): enable them with sysctl -w user.max_user_namespaces=15000',
        { missing: 'user namespaces' },
      );
    }
  } catch (error) {
    if (isAirlockError(error)) throw error;
  }
  return bwrap;
}

/**
 * bwrap runs as the session's own host uid, which owns no file on the host, so the image must be
 * readable by anyone; checked here so the failure names the fix instead of surfacing as bwrap's
 * "Permission denied".
 */
function assertWorldReadable(image: string): void {
  let path = '';
  for (const part of image.split('/').filter(Boolean)) {
    path += `/${part}`;
    const stat = statSync(path);
    if ((stat.mode & 0o005) !== 0o005) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `image ${image} is not readable by the sandbox's host uid (${path} is mode ${(stat.mode & 0o777).toString(8)}): make it world-readable (chmod o+rx) or choose another image directory`,
        { image, path },
      );
    }
  }
}

/** Whether the image has the system CA bundle a session's bundle is bound over (bwrap binds only over files). */
function hasSystemCaBundle(image: string, layout: HostLayout): boolean {
  if (image === 'host') return layout.etcEntries.includes('ssl/certs') && existsSync(SYSTEM_CA_BUNDLE);
  return existsSync(join(image, SYSTEM_CA_BUNDLE));
}

export function createBwrapDriver(options: BwrapDriverOptions = {}): Driver {
  const helperPath = options.helperPath ?? defaultHelperPath;
  const stateDir = options.stateDir ?? join(tmpdir(), `airlock-${process.getuid?.() ?? 'user'}`);
  const sandboxesDir = join(stateDir, 'sandboxes');
  const isRoot = process.getuid?.() === 0;
  // Only root can start bwrap as another uid; without it every session shares the control plane's.
  const uids = isRoot
    ? createHostUidAllocator({
        range: options.uidRange ?? DEFAULT_UID_RANGE,
        lockDir: options.uidLockDir ?? defaultUidLockDir(),
      })
    : undefined;
  let sweptOnce = options.sweepOnFirstCreate === false;
  let closed = false;
  let prepared:
    | {
        bwrapPath: string;
        cgroups: CgroupManager;
        seccomp: Buffer;
        supervisorPath: string;
        hostLayout: HostLayout;
      }
    | undefined;

  async function sweepStale(): Promise<number> {
    const { cgroups } = await prepare();
    const removed = await sweepBwrapLeftovers({ stateDir, cgroups });
    // Uids of dead control planes whose sandboxes are gone; the cgroup sweep above killed those.
    uids?.sweep();
    return removed;
  }

  async function prepare(): Promise<NonNullable<typeof prepared>> {
    if (prepared) return prepared;
    const bwrapPath = checkPrerequisites(options.bwrapPath, helperPath);
    const seccomp = buildSeccompFilter({ arch: hostSeccompArch() });
    const cgroups = createCgroupManager({
      layout: await readCgroupLayout(),
      ...(options.cgroupParent === undefined ? {} : { parent: options.cgroupParent }),
    });
    ensurePrivateDir(stateDir);
    ensurePrivateDir(sandboxesDir);
    // Sessions' own uids must reach the supervisor binary: a root control plane publishes a copy.
    const supervisorPath = uids === undefined ? helperPath : publishHelperForSessions(helperPath);
    prepared = { bwrapPath, cgroups, seccomp, supervisorPath, hostLayout: readHostLayout('/') };
    return prepared;
  }

  const launch = (limits: CgroupLimits): Promise<PendingSandbox> =>
    launchPending({ prepared: prepare(), helperPath, sandboxesDir, uids, limits });

  const spare = createSpareLauncher({ enabled: options.prespawnLauncher ?? true, discard: discardPending });

  async function create(input: SandboxSpec): Promise<Sandbox> {
    if (closed) throw new AirlockError('SANDBOX_UNAVAILABLE', 'the driver was closed');
    const spec = validateSpec(input);
    const { bwrapPath, hostLayout } = await prepare();
    if (!sweptOnce) {
      // A control plane that crashed left its sandboxes' cgroups and spool directories behind.
      sweptOnce = true;
      await sweepStale();
    }
    if (spec.image !== 'host' && !existsSync(join(spec.image, 'usr'))) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `image ${spec.image} is not a rootfs directory (no usr/ in it); use "host" or a directory made by debootstrap`,
        { image: spec.image },
      );
    }
    if (spec.image !== 'host' && uids) assertWorldReadable(spec.image);
    const layout = spec.image === 'host' ? hostLayout : readImageLayout(spec.image);
    const limits = { memoryBytes: spec.memoryBytes, cpus: spec.cpus, pids: spec.pids };
    const pending = (await spare.take(limits)) ?? (await launch(limits));
    spare.refill(launch);
    const { id, dir, cgroup, launcher, lease } = pending;
    try {
      // bwrap runs as the session's uid and binds the egress directory by path.
      if (lease) grantEgressAccess(spec.egress, lease.gid);
    } catch (error) {
      await discardPending(pending);
      throw error;
    }
    launcher.start(
      planInstructions(
        spec,
        planBwrap({
          spec,
          bwrapPath,
          layout,
          procMasks: readProcMasks(),
          systemCaBundle: hasSystemCaBundle(spec.image, layout),
        }),
        lease !== undefined,
      ),
    );

    const child = launcher.child;
    const client = new SupervisorClient(child.stdin as Writable, child.stdout!);
    const startTimeoutMs = options.startTimeoutMs ?? 10_000;
    try {
      await withinStartTimeout(client.ready, startTimeoutMs);
      assertBridge(spec, client);
    } catch (error) {
      await discardPending(pending);
      const detail = explainStartFailure(launcher.firstErrorLine() || (error as Error).message);
      throw new AirlockError('SANDBOX_UNAVAILABLE', `the bwrap sandbox did not start: ${detail}`, {
        stderr: detail,
      });
    }

    return createBwrapSandbox({
      id,
      spec,
      child,
      exited: launcher.exited,
      client,
      cgroup,
      dir,
      shell: layout.shell,
      captureLimits: options.captureLimits ?? defaultCaptureLimits,
      maxFileBytes: options.maxFileBytes ?? 64 * 1024 * 1024,
      lease,
      processes: processIsolation(client.facts, {
        hostUid: lease?.uid ?? process.getuid?.() ?? null,
        yamaPtraceScope: readYamaPtraceScope(),
      }),
    });
  }

  return {
    name: 'bwrap',
    create,
    async close() {
      closed = true;
      await spare.close();
    },
    async sweepStale() {
      sweptOnce = true;
      return sweepStale();
    },
  };
}
