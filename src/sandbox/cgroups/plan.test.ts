import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import { planSessionCgroup } from './index.ts';
import type { CgroupLayout, CgroupLimits } from './index.ts';

const limits: CgroupLimits = { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 };

const v2Root: CgroupLayout = {
  version: 2,
  mount: '/sys/fs/cgroup',
  selfPath: '/system.slice/airlock.service',
  controllers: ['cpu', 'memory', 'pids'],
  uid: 0,
};
const v2User: CgroupLayout = {
  ...v2Root,
  selfPath: '/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope',
  uid: 1000,
};
const v1Root: CgroupLayout = {
  version: 1,
  mounts: {
    memory: '/sys/fs/cgroup/memory',
    pids: '/sys/fs/cgroup/pids',
    cpu: '/sys/fs/cgroup/cpu',
    cpuacct: '/sys/fs/cgroup/cpuacct',
    freezer: '/sys/fs/cgroup/freezer',
  },
  uid: 0,
};

function failureOf(run: () => unknown): {
  code: string;
  details: Readonly<Record<string, unknown>>;
  message: string;
} {
  try {
    run();
  } catch (error) {
    if (isAirlockError(error)) return { code: error.code, details: error.details, message: error.message };
    throw error;
  }
  throw new Error('expected a failure');
}

describe('planSessionCgroup on v2', () => {
  it('puts root sessions under /airlock, enables controllers top-down, then sets the limits', () => {
    const plan = planSessionCgroup(v2Root, { name: 's1', limits });
    expect(plan.dirs).toEqual([
      { path: '/sys/fs/cgroup/airlock', kind: 'parent' },
      { path: '/sys/fs/cgroup/airlock/s1', kind: 'session' },
    ]);
    expect(plan.writes).toEqual([
      {
        kind: 'enable-controllers',
        path: '/sys/fs/cgroup/cgroup.subtree_control',
        controllers: ['memory', 'pids', 'cpu'],
      },
      {
        kind: 'enable-controllers',
        path: '/sys/fs/cgroup/airlock/cgroup.subtree_control',
        controllers: ['memory', 'pids', 'cpu'],
      },
      { kind: 'set', path: '/sys/fs/cgroup/airlock/s1/memory.max', value: '67108864', optional: false },
      { kind: 'set', path: '/sys/fs/cgroup/airlock/s1/memory.swap.max', value: '0', optional: true },
      { kind: 'set', path: '/sys/fs/cgroup/airlock/s1/pids.max', value: '32', optional: false },
      { kind: 'set', path: '/sys/fs/cgroup/airlock/s1/cpu.max', value: '50000 100000', optional: false },
    ]);
    expect(plan.procsFiles).toEqual(['/sys/fs/cgroup/airlock/s1/cgroup.procs']);
  });

  it('never enables memory.oom.group, so one OOM kills one process and not the whole session', () => {
    const plan = planSessionCgroup(v2Root, { name: 's1', limits });
    expect(plan.writes.map((write) => write.path).filter((path) => path.includes('oom.group'))).toEqual([]);
  });

  it('uses airlock.slice inside user@<uid>.service for a non-root user with systemd delegation', () => {
    const plan = planSessionCgroup(v2User, { name: 's1', limits });
    const parent = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/airlock.slice';
    expect(plan.parent).toBe('user.slice/user-1000.slice/user@1000.service/airlock.slice');
    expect(plan.dirs.at(-1)).toEqual({ path: `${parent}/s1`, kind: 'session' });
    expect(plan.procsFiles).toEqual([`${parent}/s1/cgroup.procs`]);
  });

  it('refuses a non-root user outside any delegated cgroup and says how to fix it', () => {
    const failure = failureOf(() =>
      planSessionCgroup(
        { ...v2User, selfPath: '/user.slice/user-1000.slice/session-3.scope' },
        { name: 's1', limits },
      ),
    );
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(failure.details).toMatchObject({ reason: 'not-delegated', uid: 1000 });
    expect(failure.message).toContain('run as root, or set sandbox.cgroupParent');
  });

  it('ignores a user@ unit of a different uid', () => {
    const failure = failureOf(() =>
      planSessionCgroup(
        { ...v2User, selfPath: '/user.slice/user-1001.slice/user@1001.service/app.slice' },
        { name: 's1', limits },
      ),
    );
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
  });

  it('lets an explicit parent override the default for a non-root user', () => {
    const plan = planSessionCgroup(v2User, { name: 's1', parent: '/delegated/agent', limits });
    expect(plan.procsFiles).toEqual(['/sys/fs/cgroup/delegated/agent/s1/cgroup.procs']);
  });

  it('rounds the CPU quota and never goes below the kernel minimum of 1 ms', () => {
    const cpuMax = (cpus: number): unknown =>
      planSessionCgroup(v2Root, { name: 's1', limits: { ...limits, cpus } }).writes.find((write) =>
        write.path.endsWith('cpu.max'),
      );
    expect(cpuMax(1.234567)).toMatchObject({ value: '123457 100000' });
    expect(cpuMax(0.001)).toMatchObject({ value: '1000 100000' });
    expect(cpuMax(4)).toMatchObject({ value: '400000 100000' });
  });
});

describe('planSessionCgroup on v1', () => {
  it('creates one dir per hierarchy and sets memsw after the memory limit', () => {
    const plan = planSessionCgroup(v1Root, { name: 's1', limits });
    expect(plan.sessionDirs).toEqual([
      '/sys/fs/cgroup/memory/airlock/s1',
      '/sys/fs/cgroup/pids/airlock/s1',
      '/sys/fs/cgroup/cpu/airlock/s1',
      '/sys/fs/cgroup/cpuacct/airlock/s1',
      '/sys/fs/cgroup/freezer/airlock/s1',
    ]);
    expect(plan.procsFiles).toEqual(plan.sessionDirs.map((dir) => `${dir}/cgroup.procs`));
    expect(plan.writes).toEqual([
      {
        kind: 'set',
        path: '/sys/fs/cgroup/memory/airlock/s1/memory.limit_in_bytes',
        value: '67108864',
        optional: false,
      },
      {
        kind: 'set',
        path: '/sys/fs/cgroup/memory/airlock/s1/memory.memsw.limit_in_bytes',
        value: '67108864',
        optional: true,
        otherwise: { path: '/sys/fs/cgroup/memory/airlock/s1/memory.swappiness', value: '0' },
      },
      { kind: 'set', path: '/sys/fs/cgroup/pids/airlock/s1/pids.max', value: '32', optional: false },
      {
        kind: 'set',
        path: '/sys/fs/cgroup/cpu/airlock/s1/cpu.cfs_period_us',
        value: '100000',
        optional: false,
      },
      {
        kind: 'set',
        path: '/sys/fs/cgroup/cpu/airlock/s1/cpu.cfs_quota_us',
        value: '50000',
        optional: false,
      },
    ]);
  });

  it('creates parents before sessions, in every hierarchy', () => {
    const plan = planSessionCgroup(v1Root, { name: 's1', parent: 'a/b', limits });
    const kinds = plan.dirs.map((dir) => dir.kind);
    expect(kinds.lastIndexOf('parent')).toBeLessThan(kinds.indexOf('session'));
    expect(plan.dirs.filter((dir) => dir.path.startsWith('/sys/fs/cgroup/memory/'))).toEqual([
      { path: '/sys/fs/cgroup/memory/a', kind: 'parent' },
      { path: '/sys/fs/cgroup/memory/a/b', kind: 'parent' },
      { path: '/sys/fs/cgroup/memory/a/b/s1', kind: 'session' },
    ]);
  });

  it('joins a co-mounted cpu,cpuacct hierarchy once', () => {
    const comounted: CgroupLayout = {
      version: 1,
      mounts: {
        memory: '/sys/fs/cgroup/memory',
        pids: '/sys/fs/cgroup/pids',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      },
      uid: 0,
    };
    const plan = planSessionCgroup(comounted, { name: 's1', limits });
    expect(plan.procsFiles).toEqual([
      '/sys/fs/cgroup/memory/airlock/s1/cgroup.procs',
      '/sys/fs/cgroup/pids/airlock/s1/cgroup.procs',
      '/sys/fs/cgroup/cpu,cpuacct/airlock/s1/cgroup.procs',
    ]);
  });

  it('refuses a non-root user on v1, where systemd does not delegate', () => {
    const failure = failureOf(() => planSessionCgroup({ ...v1Root, uid: 1000 }, { name: 's1', limits }));
    expect(failure).toMatchObject({ code: 'CGROUP_UNAVAILABLE', details: { reason: 'not-delegated' } });
  });
});

describe('planSessionCgroup input validation', () => {
  const badNames = [
    '../../etc',
    '..',
    '.',
    'a/b',
    '',
    'a b',
    '-x',
    'memory.max',
    'cgroup.procs',
    'tasks',
    'x'.repeat(201),
    'a\nb',
  ];
  const badLimits: Array<Partial<CgroupLimits>> = [
    { memoryBytes: 0 },
    { memoryBytes: -1 },
    { memoryBytes: 1.5 },
    { memoryBytes: Number.NaN },
    { pids: 0 },
    { pids: 2.5 },
    { cpus: 0 },
    { cpus: -1 },
    { cpus: Number.POSITIVE_INFINITY },
  ];

  it('has cases to check', () => {
    expect(badNames.length).toBeGreaterThan(0);
    expect(badLimits.length).toBeGreaterThan(0);
  });

  it('rejects path-escaping and control-file names (adversarial: ../../etc) with INVALID_ARGUMENT', () => {
    for (const name of badNames) {
      for (const layout of [v1Root, v2Root]) {
        expect(
          failureOf(() => planSessionCgroup(layout, { name, limits })),
          JSON.stringify(name),
        ).toMatchObject({
          code: 'INVALID_ARGUMENT',
          details: { field: 'name' },
        });
      }
    }
  });

  it('rejects a parent that climbs out of the hierarchy', () => {
    for (const parent of ['../etc', 'a/../../b', 'a//..', '/', 'a/memory.max']) {
      expect(
        failureOf(() => planSessionCgroup(v2Root, { name: 's1', parent, limits })),
        parent,
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        details: { field: 'parent' },
      });
    }
  });

  it('rejects non-positive or fractional limits', () => {
    for (const bad of badLimits) {
      const failure = failureOf(() =>
        planSessionCgroup(v1Root, { name: 's1', limits: { ...limits, ...bad } }),
      );
      expect(failure.code, JSON.stringify(bad)).toBe('INVALID_ARGUMENT');
      expect(Object.keys(bad)).toContain(failure.details.field);
    }
  });

  it('accepts ordinary session names', () => {
    for (const name of ['s1', 'airlock-1234-abcdef', 'A.b_c-9']) {
      expect(planSessionCgroup(v2Root, { name, limits }).name).toBe(name);
    }
  });
});
