import { AirlockError } from '../../errors/index.ts';
import { requiredV2Controllers } from './detect.ts';
import type { CgroupLayout, CgroupV1Layout, RequiredV1Controller, V1Controller } from './detect.ts';

export interface CgroupLimits {
  readonly memoryBytes: number;
  /** CPU bandwidth in cores; 0.5 is half of one core. */
  readonly cpus: number;
  /** Maximum tasks (processes and threads) alive in the session at once. */
  readonly pids: number;
}

export interface CgroupLocationOptions {
  /** The session's directory name, one path segment. */
  readonly name: string;
  /** Parent cgroup relative to the hierarchy root; defaults as described in resolveCgroupParent. */
  readonly parent?: string;
}

export interface PlanSessionCgroupOptions extends CgroupLocationOptions {
  readonly limits: CgroupLimits;
}

export interface PlannedDir {
  readonly path: string;
  /** Parents are shared between sessions and may exist; a session dir must be new. */
  readonly kind: 'parent' | 'session';
}

export type CgroupWrite =
  | {
      /** Read the file first and write `+c` only for controllers not yet enabled. */
      readonly kind: 'enable-controllers';
      readonly path: string;
      readonly controllers: readonly string[];
    }
  | {
      readonly kind: 'set';
      readonly path: string;
      readonly value: string;
      /** When true the file may be absent on some kernels; then `otherwise` (if any) is written instead. */
      readonly optional: boolean;
      readonly otherwise?: { readonly path: string; readonly value: string };
    };

export interface CgroupLocation {
  readonly version: 1 | 2;
  /** Resolved parent, relative to the hierarchy root, no leading slash. */
  readonly parent: string;
  readonly name: string;
  /** Session directory per controller; on v2 (and co-mounted v1 controllers) they coincide. */
  readonly controllerDirs: Readonly<Record<RequiredV1Controller, string>> & { readonly freezer?: string };
  /** Distinct session directories, one per hierarchy. */
  readonly sessionDirs: readonly string[];
  /** Distinct parent directories, one per hierarchy. */
  readonly parentDirs: readonly string[];
  /** One `cgroup.procs` per hierarchy: a process writes its own pid into each to join the session. */
  readonly procsFiles: readonly string[];
}

export interface CgroupPlan extends CgroupLocation {
  /** In creation order: parents top-down (may exist), then the session dirs (must not exist). */
  readonly dirs: readonly PlannedDir[];
  /** In application order. */
  readonly writes: readonly CgroupWrite[];
}

export const cpuPeriodUs = 100_000;
/** The kernel rejects a CFS quota below 1 ms. */
export const minCpuQuotaUs = 1_000;

// One path segment: no separators, no dot-dot, nothing the shell or a path join could reinterpret.
const nameSegment = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
// Parent segments also allow `@` and `:` for systemd units such as user@1000.service.
const parentSegment = /^[A-Za-z0-9][A-Za-z0-9._@:-]*$/;
const maxNameLength = 200;
// A child named like an interface file (`memory.max`, `tasks`) would collide with the parent's own
// control files; a sweep or removal could then act on the wrong thing.
const controlFilePrefixes = new Set([
  'cgroup',
  'memory',
  'pids',
  'cpu',
  'cpuacct',
  'cpuset',
  'io',
  'blkio',
  'freezer',
  'hugetlb',
  'rdma',
  'misc',
  'devices',
  'net_cls',
  'net_prio',
  'perf_event',
]);
const controlFileNames = new Set(['tasks', 'notify_on_release', 'release_agent']);

function invalid(message: string, field: string, value: unknown): AirlockError {
  return new AirlockError('INVALID_ARGUMENT', message, { field, value });
}

function isControlFileName(segment: string): boolean {
  const prefix = segment.split('.')[0] ?? '';
  return controlFileNames.has(segment) || (segment.includes('.') && controlFilePrefixes.has(prefix));
}

export function validateCgroupName(name: string): void {
  if (
    typeof name !== 'string' ||
    name.length > maxNameLength ||
    !nameSegment.test(name) ||
    name.includes('..') ||
    isControlFileName(name)
  ) {
    throw invalid(
      `Invalid cgroup name ${JSON.stringify(name)}: use 1-${maxNameLength} characters from [A-Za-z0-9._-], starting with a letter or digit, no "..", not a control-file name.`,
      'name',
      name,
    );
  }
}

function normaliseParent(parent: string): string {
  const trimmed = parent.replace(/^\/+/, '').replace(/\/+$/, '');
  const segments = trimmed.split('/');
  const ok =
    trimmed !== '' &&
    segments.every(
      (segment) =>
        segment.length <= maxNameLength &&
        parentSegment.test(segment) &&
        !segment.includes('..') &&
        !isControlFileName(segment),
    );
  if (!ok) {
    throw invalid(
      `Invalid cgroup parent ${JSON.stringify(parent)}: a path below the hierarchy root whose segments use [A-Za-z0-9._@:-] and contain no "..".`,
      'parent',
      parent,
    );
  }
  return segments.join('/');
}

export function validateCgroupLimits(limits: CgroupLimits): void {
  const positiveInteger = (value: unknown): boolean =>
    typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
  if (!positiveInteger(limits.memoryBytes)) {
    throw invalid(
      'memoryBytes must be a positive integer number of bytes.',
      'memoryBytes',
      limits.memoryBytes,
    );
  }
  if (!positiveInteger(limits.pids)) {
    throw invalid('pids must be a positive integer.', 'pids', limits.pids);
  }
  if (typeof limits.cpus !== 'number' || !Number.isFinite(limits.cpus) || limits.cpus <= 0) {
    throw invalid('cpus must be a finite number greater than 0.', 'cpus', limits.cpus);
  }
}

/**
 * Where sessions live. Root owns the hierarchy, so `airlock` under its root. Anyone else may only
 * write where systemd delegated a subtree to them (`user@<uid>.service`); guessing elsewhere would
 * fail half-way or, worse, succeed in a cgroup whose limits someone else controls.
 */
export function resolveCgroupParent(layout: CgroupLayout, parent?: string): string {
  if (parent !== undefined) return normaliseParent(parent);
  if (layout.uid === 0) return 'airlock';
  if (layout.version === 2 && layout.selfPath !== null) {
    const segments = layout.selfPath.split('/').filter((segment) => segment !== '');
    const delegated = segments.lastIndexOf(`user@${layout.uid}.service`);
    if (delegated >= 0) return [...segments.slice(0, delegated + 1), 'airlock.slice'].join('/');
  }
  throw new AirlockError(
    'CGROUP_UNAVAILABLE',
    `No cgroup is delegated to uid ${layout.uid} (cgroup v${layout.version}), so session limits cannot be set: run as root, or set sandbox.cgroupParent to a cgroup delegated to this user.`,
    { reason: 'not-delegated', uid: layout.uid, version: layout.version },
  );
}

const join = (...parts: string[]): string => parts.join('/').replace(/\/{2,}/g, '/');

function v1HierarchyMounts(layout: CgroupV1Layout): Array<[V1Controller, string]> {
  const { memory, pids, cpu, cpuacct, freezer } = layout.mounts;
  const entries: Array<[V1Controller, string]> = [
    ['memory', memory],
    ['pids', pids],
    ['cpu', cpu],
    ['cpuacct', cpuacct],
  ];
  if (freezer !== undefined) entries.push(['freezer', freezer]);
  return entries;
}

function distinctV1Mounts(layout: CgroupV1Layout): string[] {
  return [...new Set(v1HierarchyMounts(layout).map(([, mount]) => mount))];
}

/** The parent directory in each hierarchy: where sessions are listed for a sweep. */
export function planParentDirs(
  layout: CgroupLayout,
  parent?: string,
): { parent: string; parentDirs: string[] } {
  const resolved = resolveCgroupParent(layout, parent);
  const mounts = layout.version === 2 ? [layout.mount] : distinctV1Mounts(layout);
  return { parent: resolved, parentDirs: mounts.map((mount) => join(mount, resolved)) };
}

/** The paths a session occupies, without limits: what removal and sweeping need. */
export function planCgroupLocation(layout: CgroupLayout, options: CgroupLocationOptions): CgroupLocation {
  validateCgroupName(options.name);
  const parent = resolveCgroupParent(layout, options.parent);
  const name = options.name;
  if (layout.version === 2) {
    const dir = join(layout.mount, parent, name);
    return {
      version: 2,
      parent,
      name,
      controllerDirs: { memory: dir, pids: dir, cpu: dir, cpuacct: dir },
      sessionDirs: [dir],
      parentDirs: [join(layout.mount, parent)],
      procsFiles: [join(dir, 'cgroup.procs')],
    };
  }
  const entries = v1HierarchyMounts(layout);
  const mountOf = (controller: V1Controller): string =>
    entries.find(([candidate]) => candidate === controller)?.[1] ?? '';
  const dirOf = (controller: V1Controller): string => join(mountOf(controller), parent, name);
  // Co-mounted controllers (cpu,cpuacct) share one hierarchy: one directory, one join.
  const mountsInOrder = distinctV1Mounts(layout);
  const freezer = layout.mounts.freezer;
  return {
    version: 1,
    parent,
    name,
    controllerDirs: {
      memory: dirOf('memory'),
      pids: dirOf('pids'),
      cpu: dirOf('cpu'),
      cpuacct: dirOf('cpuacct'),
      ...(freezer === undefined ? {} : { freezer: dirOf('freezer') }),
    },
    sessionDirs: mountsInOrder.map((mount) => join(mount, parent, name)),
    parentDirs: mountsInOrder.map((mount) => join(mount, parent)),
    procsFiles: mountsInOrder.map((mount) => join(mount, parent, name, 'cgroup.procs')),
  };
}

function cpuQuotaUs(cpus: number): number {
  return Math.max(minCpuQuotaUs, Math.round(cpus * cpuPeriodUs));
}

function ancestorsTopDown(root: string, parent: string): string[] {
  const segments = parent.split('/');
  return segments.map((_segment, index) => join(root, ...segments.slice(0, index + 1)));
}

/** The directories and ordered writes that create one session cgroup. Pure: the applier does the I/O. */
export function planSessionCgroup(layout: CgroupLayout, options: PlanSessionCgroupOptions): CgroupPlan {
  validateCgroupLimits(options.limits);
  const location = planCgroupLocation(layout, options);
  const { memoryBytes, cpus, pids } = options.limits;
  const memory = String(memoryBytes);
  const quota = cpuQuotaUs(cpus);

  if (layout.version === 2) {
    const dir = location.sessionDirs[0] ?? '';
    const parents = ancestorsTopDown(layout.mount, location.parent);
    const set = (file: string, value: string, optional = false): CgroupWrite => ({
      kind: 'set',
      path: join(dir, file),
      value,
      optional,
    });
    return {
      ...location,
      dirs: [
        ...parents.map((path): PlannedDir => ({ path, kind: 'parent' })),
        { path: dir, kind: 'session' },
      ],
      writes: [
        // Controllers must be enabled in every ancestor's subtree_control for the session's files to
        // exist; above a delegation point they already are, so the applier only writes what is missing.
        ...[layout.mount, ...parents].map(
          (ancestor): CgroupWrite => ({
            kind: 'enable-controllers',
            path: join(ancestor, 'cgroup.subtree_control'),
            controllers: requiredV2Controllers,
          }),
        ),
        set('memory.max', memory),
        // memory.max alone lets a session page out to swap and keep growing; 0 closes that. The file
        // exists only with swap accounting (CONFIG_MEMCG_SWAP), hence optional.
        set('memory.swap.max', '0', true),
        // memory.oom.group stays 0 on purpose: with 1 the kernel kills every process in the session
        // when one command exceeds the limit, tearing down the session's shell for one bad command.
        set('pids.max', String(pids)),
        set('cpu.max', `${quota} ${cpuPeriodUs}`),
      ],
    };
  }

  const dirs: PlannedDir[] = [];
  for (const mount of distinctV1Mounts(layout)) {
    for (const path of ancestorsTopDown(mount, location.parent)) dirs.push({ path, kind: 'parent' });
  }
  for (const path of location.sessionDirs) dirs.push({ path, kind: 'session' });
  const at = (controller: RequiredV1Controller, file: string): string =>
    join(location.controllerDirs[controller], file);
  return {
    ...location,
    dirs,
    writes: [
      // The kernel requires memsw >= memory limit at every moment, so the memory limit goes first.
      { kind: 'set', path: at('memory', 'memory.limit_in_bytes'), value: memory, optional: false },
      {
        kind: 'set',
        path: at('memory', 'memory.memsw.limit_in_bytes'),
        value: memory,
        // memsw exists only with swap accounting (swapaccount=1). Without it swap is not charged, so
        // a session could push pages to swap past its limit; swappiness 0 tells this cgroup's
        // reclaim not to swap anonymous memory, so hitting the limit ends in the OOM killer instead.
        optional: true,
        otherwise: { path: at('memory', 'memory.swappiness'), value: '0' },
      },
      { kind: 'set', path: at('pids', 'pids.max'), value: String(pids), optional: false },
      // Period before quota: the quota is interpreted against the period in force.
      { kind: 'set', path: at('cpu', 'cpu.cfs_period_us'), value: String(cpuPeriodUs), optional: false },
      { kind: 'set', path: at('cpu', 'cpu.cfs_quota_us'), value: String(quota), optional: false },
    ],
  };
}
