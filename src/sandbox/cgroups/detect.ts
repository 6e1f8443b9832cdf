import { readFile } from 'node:fs/promises';
import { AirlockError } from '../../errors/index.ts';

/** Controllers a session needs on v2: memory and pids caps, CPU bandwidth. */
export const requiredV2Controllers = ['memory', 'pids', 'cpu'] as const;
/** v1 splits accounting from bandwidth, so cpuacct is a separate requirement there. */
export const requiredV1Controllers = ['memory', 'pids', 'cpu', 'cpuacct'] as const;

export type RequiredV1Controller = (typeof requiredV1Controllers)[number];
export type V1Controller = RequiredV1Controller | 'freezer';

export interface CgroupV2Layout {
  readonly version: 2;
  /** Where the unified hierarchy is mounted, e.g. `/sys/fs/cgroup`. */
  readonly mount: string;
  /** This process's cgroup relative to the mount (`/` = the mount itself); null when outside the mount. */
  readonly selfPath: string | null;
  /** Controllers the hierarchy offers (from its root `cgroup.controllers`, or inferred). */
  readonly controllers: readonly string[];
  readonly uid: number;
}

export interface CgroupV1Mounts {
  readonly memory: string;
  readonly pids: string;
  readonly cpu: string;
  readonly cpuacct: string;
  /** Optional: used to stop forks while killing a session. */
  readonly freezer?: string;
}

export interface CgroupV1Layout {
  readonly version: 1;
  readonly mounts: CgroupV1Mounts;
  readonly uid: number;
}

export type CgroupLayout = CgroupV1Layout | CgroupV2Layout;

export interface DetectCgroupLayoutInput {
  /** Text of /proc/self/mountinfo. */
  readonly mountinfo: string;
  /** Text of /proc/self/cgroup. */
  readonly selfCgroup: string;
  readonly uid: number;
  /**
   * Text of `cgroup.controllers` at the root of the cgroup2 mount, when there is one. Without it the
   * controllers are inferred: any controller bound to a v1 hierarchy is absent from v2.
   */
  readonly unifiedControllers?: string;
}

interface MountEntry {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

function parseMountinfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const separator = line.indexOf(' - ');
    if (separator < 0) continue;
    const before = line.slice(0, separator).split(' ');
    const after = line.slice(separator + 3).split(' ');
    const root = before[3];
    const mountPoint = before[4];
    const fsType = after[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    entries.push({
      root: unescapeMountField(root),
      mountPoint: unescapeMountField(mountPoint),
      fsType,
      superOptions: (after[2] ?? '').split(','),
    });
  }
  return entries;
}

interface SelfCgroupLine {
  readonly controllers: readonly string[];
  readonly path: string;
}

function parseSelfCgroup(text: string): SelfCgroupLine[] {
  const lines: SelfCgroupLine[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const controllerField = match[2] ?? '';
    lines.push({
      controllers: controllerField === '' ? [] : controllerField.split(','),
      path: match[3] ?? '/',
    });
  }
  return lines;
}

/** The cgroup path as seen under the mount point, or null when the mount does not contain it. */
function relativeToMountRoot(cgroupPath: string, mountRoot: string): string | null {
  if (mountRoot === '/') return cgroupPath;
  if (cgroupPath === mountRoot) return '/';
  if (cgroupPath.startsWith(`${mountRoot}/`)) return cgroupPath.slice(mountRoot.length);
  return null;
}

// A hierarchy can be bind-mounted several times (containers); the one exposing its whole tree wins.
function preferFullTree(mounts: readonly MountEntry[]): MountEntry | undefined {
  return mounts.find((mount) => mount.root === '/') ?? mounts[0];
}

function unavailable(message: string, details: Record<string, unknown>): AirlockError {
  return new AirlockError('CGROUP_UNAVAILABLE', message, details);
}

/**
 * Pick the cgroup hierarchy sessions are limited with. v2 is used only when its mount really offers
 * memory, pids and cpu: a hybrid host has an (often empty) cgroup2 mount beside the v1 hierarchies, and
 * trusting it would create sessions with no limits at all. Throws CGROUP_UNAVAILABLE when neither
 * version offers every controller, because a session without limits is not an acceptable fallback.
 */
export function detectCgroupLayout(input: DetectCgroupLayoutInput): CgroupLayout {
  const mounts = parseMountinfo(input.mountinfo);
  const selfLines = parseSelfCgroup(input.selfCgroup);

  const v1Mounts = mounts.filter((mount) => mount.fsType === 'cgroup');
  const boundToV1 = new Set<string>();
  for (const mount of v1Mounts) for (const option of mount.superOptions) boundToV1.add(option);
  for (const line of selfLines) for (const controller of line.controllers) boundToV1.add(controller);

  const v2Mount = preferFullTree(mounts.filter((mount) => mount.fsType === 'cgroup2'));
  let v2Missing: string[] = [];
  if (v2Mount) {
    const controllers =
      input.unifiedControllers === undefined
        ? requiredV2Controllers.filter((controller) => !boundToV1.has(controller))
        : input.unifiedControllers.split(/\s+/).filter((word) => word !== '');
    v2Missing = requiredV2Controllers.filter((controller) => !controllers.includes(controller));
    if (v2Missing.length === 0) {
      const unifiedLine = selfLines.find((line) => line.controllers.length === 0 && line.path !== '');
      return {
        version: 2,
        mount: v2Mount.mountPoint,
        selfPath: unifiedLine ? relativeToMountRoot(unifiedLine.path, v2Mount.root) : null,
        controllers,
        uid: input.uid,
      };
    }
  }

  const mountFor = (controller: V1Controller): string | undefined =>
    preferFullTree(v1Mounts.filter((mount) => mount.superOptions.includes(controller)))?.mountPoint;
  const memory = mountFor('memory');
  const pids = mountFor('pids');
  const cpu = mountFor('cpu');
  const cpuacct = mountFor('cpuacct');
  const freezer = mountFor('freezer');
  if (memory !== undefined && pids !== undefined && cpu !== undefined && cpuacct !== undefined) {
    return {
      version: 1,
      mounts: { memory, pids, cpu, cpuacct, ...(freezer === undefined ? {} : { freezer }) },
      uid: input.uid,
    };
  }

  const v1Missing = requiredV1Controllers.filter((controller) => mountFor(controller) === undefined);
  if (!v2Mount && v1Mounts.length === 0) {
    throw unavailable(
      'No cgroup filesystem is mounted, so memory/CPU/pids limits cannot be enforced; mount cgroup2 at /sys/fs/cgroup.',
      { reason: 'no-cgroup-mount' },
    );
  }
  throw unavailable(
    `cgroup controllers missing (v2 lacks ${v2Mount ? v2Missing.join(', ') : 'a mount'}; v1 lacks ${v1Missing.join(', ') || 'nothing'}), so limits cannot be enforced; enable memory, pids and cpu in the cgroup2 root or mount the v1 controllers.`,
    { reason: 'missing-controllers', v2Missing: v2Mount ? v2Missing : null, v1Missing },
  );
}

/** Reads the process's own mount and cgroup view and hands it to detectCgroupLayout. */
export async function readCgroupLayout(): Promise<CgroupLayout> {
  const [mountinfo, selfCgroup] = await Promise.all([
    readFile('/proc/self/mountinfo', 'utf8'),
    readFile('/proc/self/cgroup', 'utf8'),
  ]);
  const uid = process.getuid?.() ?? -1;
  const v2Mount = preferFullTree(parseMountinfo(mountinfo).filter((mount) => mount.fsType === 'cgroup2'));
  let unifiedControllers: string | undefined;
  if (v2Mount) {
    try {
      unifiedControllers = await readFile(`${v2Mount.mountPoint}/cgroup.controllers`, 'utf8');
    } catch {
      // Unreadable: fall back to inference; creating a session still fails closed on a missing controller.
    }
  }
  return detectCgroupLayout({
    mountinfo,
    selfCgroup,
    uid,
    ...(unifiedControllers === undefined ? {} : { unifiedControllers }),
  });
}
