import { describe, expect, it } from 'vitest';
import { planBudgets } from '../../bench/cluster-budget.ts';
import type { CgroupLayout } from '../../src/sandbox/cgroups/index.ts';

const members = [
  { name: 'bench-a', cores: 0.4 },
  { name: 'postgres', cores: null },
];

describe('cluster bench CPU budgets', () => {
  it('caps each node on cgroup v2 with cpu.max, enabling cpu above it, and leaves the database uncapped', () => {
    const layout: CgroupLayout = {
      version: 2,
      mount: '/sys/fs/cgroup',
      selfPath: '/',
      controllers: ['cpu', 'memory', 'pids'],
      uid: 0,
    };
    const plan = planBudgets(layout, 'airlock-bench-1-ab', members);
    expect(plan.roots).toEqual(['/sys/fs/cgroup/airlock-bench-1-ab']);
    expect(plan.dirs[0]).toBe('/sys/fs/cgroup/airlock-bench-1-ab');
    expect(plan.dirs).toContain('/sys/fs/cgroup/airlock-bench-1-ab/bench-a/main');
    expect(plan.writes).toEqual([
      { kind: 'enable', path: '/sys/fs/cgroup/cgroup.subtree_control', value: 'cpu' },
      { kind: 'enable', path: '/sys/fs/cgroup/airlock-bench-1-ab/cgroup.subtree_control', value: 'cpu' },
      { kind: 'set', path: '/sys/fs/cgroup/airlock-bench-1-ab/bench-a/cpu.max', value: '40000 100000' },
    ]);
    const node = plan.members[0];
    // Processes go to a leaf: on v2 the budget cgroup has children and so may hold no process itself.
    expect(node?.procsFiles).toEqual(['/sys/fs/cgroup/airlock-bench-1-ab/bench-a/main/cgroup.procs']);
    expect(node?.sandboxParent).toBe('airlock-bench-1-ab/bench-a/sandboxes');
    expect(node?.usage).toEqual({
      path: '/sys/fs/cgroup/airlock-bench-1-ab/bench-a/cpu.stat',
      unit: 'cpu.stat',
    });
  });

  it('on cgroup v1 makes the tree in every hierarchy the sandbox driver uses, and the quota in cpu', () => {
    const layout: CgroupLayout = {
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
    const plan = planBudgets(layout, 'g', members);
    const hierarchies = ['memory', 'pids', 'cpu', 'cpuacct', 'freezer'];
    expect(plan.roots).toEqual(hierarchies.map((name) => `/sys/fs/cgroup/${name}/g`));
    for (const name of hierarchies) {
      // The driver's parent must already exist in each hierarchy, below the node's budget.
      expect(plan.dirs).toContain(`/sys/fs/cgroup/${name}/g/bench-a/sandboxes`);
    }
    // Parents are created before their children.
    for (const [index, dir] of plan.dirs.entries()) {
      const parent = dir.slice(0, dir.lastIndexOf('/'));
      if (plan.roots.includes(dir)) continue;
      expect(plan.dirs.indexOf(parent)).toBeLessThan(index);
    }
    expect(plan.writes).toEqual([
      { kind: 'set', path: '/sys/fs/cgroup/cpu/g/bench-a/cpu.cfs_period_us', value: '100000' },
      { kind: 'set', path: '/sys/fs/cgroup/cpu/g/bench-a/cpu.cfs_quota_us', value: '40000' },
    ]);
    expect(plan.members[1]?.procsFiles).toEqual([
      '/sys/fs/cgroup/cpu/g/postgres/main/cgroup.procs',
      '/sys/fs/cgroup/cpuacct/g/postgres/main/cgroup.procs',
    ]);
    expect(plan.members[1]?.usage).toEqual({
      path: '/sys/fs/cgroup/cpuacct/g/postgres/cpuacct.usage',
      unit: 'ns',
    });
  });

  it('joins co-mounted cpu,cpuacct once', () => {
    const mount = '/sys/fs/cgroup/cpu,cpuacct';
    const layout: CgroupLayout = {
      version: 1,
      mounts: { memory: '/m', pids: '/p', cpu: mount, cpuacct: mount },
      uid: 0,
    };
    const plan = planBudgets(layout, 'g', members);
    expect(plan.roots).toEqual(['/m/g', '/p/g', `${mount}/g`]);
    expect(plan.members[0]?.procsFiles).toEqual([`${mount}/g/bench-a/main/cgroup.procs`]);
  });
});
