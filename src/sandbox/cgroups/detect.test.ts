import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import { detectCgroupLayout } from './index.ts';

// Trimmed from /proc/self/mountinfo on the development VM (kernel 6.18): a tmpfs at /sys/fs/cgroup with
// one v1 hierarchy per controller, and a cgroup2 at /sys/fs/cgroup/unified that offers only hugetlb.
const hybridMountinfo = `22 27 0:21 / /proc rw,relatime - proc proc rw
23 27 0:22 / /sys rw,relatime - sysfs sysfs rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const hybridSelfCgroup = `9:name=systemd:/
8:pids:/
7:blkio:/
6:freezer:/
5:devices:/
4:memory:/process_api/c85af6a0c90fcd9e631b7fc4de151cc1
3:cpuset:/
2:cpuacct:/
1:cpu:/
0::/
`;

// A typical systemd host (Fedora, Ubuntu 22.04+, Debian 12): unified hierarchy only.
const systemdV2Mountinfo = `22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
23 1 0:22 / /sys rw,nosuid,nodev,noexec,relatime shared:2 - sysfs sysfs rw
29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
1 0 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
`;
const systemdV2SelfCgroup = '0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope\n';

// Older Debian/CentOS 7 style: cpu and cpuacct co-mounted, no unified mount at all.
const comountedV1Mountinfo = `25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
30 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,cpu,cpuacct
31 25 0:27 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,memory
32 25 0:28 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,pids
`;

function failureOf(run: () => unknown): { code: string; details: Readonly<Record<string, unknown>> } {
  try {
    run();
  } catch (error) {
    if (isAirlockError(error)) return { code: error.code, details: error.details };
    throw error;
  }
  throw new Error('expected a failure');
}

describe('detectCgroupLayout', () => {
  it('picks v1 on a hybrid host whose unified mount lacks memory, pids and cpu (this VM)', () => {
    const layout = detectCgroupLayout({
      mountinfo: hybridMountinfo,
      selfCgroup: hybridSelfCgroup,
      uid: 0,
      unifiedControllers: 'hugetlb\n',
    });
    expect(layout).toEqual({
      version: 1,
      mounts: {
        memory: '/sys/fs/cgroup/memory',
        pids: '/sys/fs/cgroup/pids',
        cpu: '/sys/fs/cgroup/cpu',
        cpuacct: '/sys/fs/cgroup/cpuacct',
        freezer: '/sys/fs/cgroup/freezer',
      },
      uid: 0,
    });
  });

  it('infers the empty unified mount from v1 bindings when cgroup.controllers was not read', () => {
    const layout = detectCgroupLayout({ mountinfo: hybridMountinfo, selfCgroup: hybridSelfCgroup, uid: 0 });
    expect(layout.version).toBe(1);
  });

  it('picks v2 on a systemd host and records the process cgroup for delegation', () => {
    const layout = detectCgroupLayout({
      mountinfo: systemdV2Mountinfo,
      selfCgroup: systemdV2SelfCgroup,
      uid: 1000,
      unifiedControllers: 'cpuset cpu io memory hugetlb pids rdma misc\n',
    });
    expect(layout).toEqual({
      version: 2,
      mount: '/sys/fs/cgroup',
      selfPath: '/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope',
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'],
      uid: 1000,
    });
  });

  it('refuses v2 without the memory controller, naming what is missing (CGROUP_UNAVAILABLE)', () => {
    const failure = failureOf(() =>
      detectCgroupLayout({
        mountinfo: systemdV2Mountinfo,
        selfCgroup: systemdV2SelfCgroup,
        uid: 0,
        unifiedControllers: 'cpu io pids',
      }),
    );
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(failure.details).toMatchObject({ reason: 'missing-controllers', v2Missing: ['memory'] });
  });

  it('maps co-mounted cpu,cpuacct to one hierarchy and leaves freezer out when absent', () => {
    const layout = detectCgroupLayout({
      mountinfo: comountedV1Mountinfo,
      selfCgroup: '4:pids:/\n3:memory:/\n2:cpu,cpuacct:/\n',
      uid: 0,
    });
    expect(layout).toEqual({
      version: 1,
      mounts: {
        memory: '/sys/fs/cgroup/memory',
        pids: '/sys/fs/cgroup/pids',
        cpu: '/sys/fs/cgroup/cpu,cpuacct',
        cpuacct: '/sys/fs/cgroup/cpu,cpuacct',
      },
      uid: 0,
    });
  });

  it('refuses v1 without a pids hierarchy instead of running sessions without a fork cap', () => {
    const withoutPids = comountedV1Mountinfo
      .split('\n')
      .filter((line) => !line.includes('rw,pids'))
      .join('\n');
    const failure = failureOf(() => detectCgroupLayout({ mountinfo: withoutPids, selfCgroup: '', uid: 0 }));
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(failure.details).toMatchObject({ reason: 'missing-controllers', v1Missing: ['pids'] });
  });

  it('refuses a host with no cgroup mount at all', () => {
    const failure = failureOf(() =>
      detectCgroupLayout({
        mountinfo: hybridMountinfo.split('\n').slice(0, 3).join('\n'),
        selfCgroup: '',
        uid: 0,
      }),
    );
    expect(failure).toMatchObject({ code: 'CGROUP_UNAVAILABLE', details: { reason: 'no-cgroup-mount' } });
  });

  it('decodes escaped mount points and resolves the self path against a non-root mount', () => {
    const layout = detectCgroupLayout({
      mountinfo: '40 30 0:26 /docker/abc /sys/fs/cgroup\\040x rw - cgroup2 cgroup2 rw\n',
      selfCgroup: '0::/docker/abc/inner\n',
      uid: 0,
      unifiedControllers: 'cpu memory pids',
    });
    expect(layout).toMatchObject({ version: 2, mount: '/sys/fs/cgroup x', selfPath: '/inner' });
  });
});
