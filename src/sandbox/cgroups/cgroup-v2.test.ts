import { readFile, writeFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { createFakeCgroupV2 } from '../../../test/support/fake-cgroupfs.ts';
import type { FakeCgroupV2, FakeCgroupV2Options } from '../../../test/support/fake-cgroupfs.ts';
import { isAirlockError } from '../../errors/index.ts';
import { createCgroupManager } from './index.ts';
import type { CgroupLayout, CgroupLimits, CgroupManager } from './index.ts';

const limits: CgroupLimits = { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 };
const userScope = '/user.slice/user-1000.slice/user@1000.service/app.slice/foo.scope';

const fakes: FakeCgroupV2[] = [];
afterEach(async () => {
  for (const fake of fakes.splice(0)) await fake.cleanup();
});

async function setup(
  options: FakeCgroupV2Options & { uid?: number; parent?: string } = {},
): Promise<{ fake: FakeCgroupV2; manager: CgroupManager; read: (path: string) => Promise<string> }> {
  const fake = await createFakeCgroupV2(options);
  fakes.push(fake);
  const layout: CgroupLayout = {
    version: 2,
    mount: fake.mount,
    selfPath: options.uid === undefined ? '/' : userScope,
    controllers: ['cpu', 'memory', 'pids', 'io'],
    uid: options.uid ?? 0,
  };
  const manager = createCgroupManager({
    layout,
    fsRoot: fake.fsRoot,
    fs: fake.fs,
    ...(options.parent === undefined ? {} : { parent: options.parent }),
  });
  const read = async (path: string): Promise<string> => (await readFile(fake.real(path), 'utf8')).trim();
  return { fake, manager, read };
}

async function rejectionOf(
  promise: Promise<unknown>,
): Promise<{ code: string; details: Readonly<Record<string, unknown>>; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isAirlockError(error)) return { code: error.code, details: error.details, message: error.message };
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('cgroup manager on v2 (emulated cgroupfs)', () => {
  it('writes the limits into the session cgroup and enables the controllers above it', async () => {
    const { fake, manager, read } = await setup();
    const session = await manager.create('s1', limits);

    expect(await read('/sys/fs/cgroup/airlock/s1/memory.max')).toBe('67108864');
    expect(await read('/sys/fs/cgroup/airlock/s1/memory.swap.max')).toBe('0');
    expect(await read('/sys/fs/cgroup/airlock/s1/pids.max')).toBe('32');
    expect(await read('/sys/fs/cgroup/airlock/s1/cpu.max')).toBe('50000 100000');
    expect(await read('/sys/fs/cgroup/airlock/s1/memory.oom.group')).toBe('0');
    expect(await read('/sys/fs/cgroup/cgroup.subtree_control')).toBe('cpu memory pids');
    expect(await read('/sys/fs/cgroup/airlock/cgroup.subtree_control')).toBe('cpu memory pids');
    expect(session.procsFiles).toEqual([fake.real('/sys/fs/cgroup/airlock/s1/cgroup.procs')]);
    expect(session.version).toBe(2);
  });

  it('writes only the controllers that are not yet enabled', async () => {
    const { fake, manager } = await setup();
    await manager.create('s1', limits);
    fake.writes.length = 0;
    await manager.create('s2', limits);
    expect(fake.writes.map((write) => write.path)).toEqual([
      '/sys/fs/cgroup/airlock/s2/memory.max',
      '/sys/fs/cgroup/airlock/s2/memory.swap.max',
      '/sys/fs/cgroup/airlock/s2/pids.max',
      '/sys/fs/cgroup/airlock/s2/cpu.max',
    ]);
  });

  it('stays inside the delegated subtree for a non-root user', async () => {
    const { fake, manager, read } = await setup({ uid: 1000 });
    await fake.prepare(userScope, ['cpu', 'memory', 'pids']);
    const session = await manager.create('s1', limits);
    const delegated = '/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service/';
    expect(fake.writes.length).toBeGreaterThan(0);
    for (const write of fake.writes) expect(write.path.startsWith(delegated), write.path).toBe(true);
    expect(await read(`${delegated}airlock.slice/s1/pids.max`)).toBe('32');
    expect(session.procsFiles).toEqual([fake.real(`${delegated}airlock.slice/s1/cgroup.procs`)]);
  });

  it('skips memory.swap.max on a kernel without swap accounting', async () => {
    const { fake, manager, read } = await setup({ missingFiles: ['memory.swap.max'] });
    await manager.create('s1', limits);
    expect(await read('/sys/fs/cgroup/airlock/s1/memory.max')).toBe('67108864');
    expect(fake.writes.some((write) => write.path.endsWith('memory.swap.max'))).toBe(false);
  });

  it('fails closed with the path and errno when a limit file is missing, leaving nothing behind', async () => {
    const { fake, manager } = await setup({ missingFiles: ['pids.max'] });
    const before = await fake.snapshot();
    const failure = await rejectionOf(manager.create('s1', limits));
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(failure.details).toMatchObject({
      path: fake.real('/sys/fs/cgroup/airlock/s1/pids.max'),
      errno: 'ENOENT',
    });
    expect(failure.message).not.toContain('\n');
    expect(await fake.snapshot()).toEqual(before);
  });

  it('fails closed when the hierarchy does not offer a controller', async () => {
    const { fake, manager } = await setup({ controllers: ['cpu', 'memory', 'io'] });
    const before = await fake.snapshot();
    const failure = await rejectionOf(manager.create('s1', limits));
    expect(failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(failure.details).toMatchObject({
      path: fake.real('/sys/fs/cgroup/cgroup.subtree_control'),
      errno: 'ENOENT',
    });
    expect(await fake.snapshot()).toEqual(before);
  });

  it('refuses to reuse an existing session cgroup and leaves the existing one intact', async () => {
    const { fake, manager, read } = await setup();
    await manager.create('s1', limits);
    const failure = await rejectionOf(manager.create('s1', { ...limits, pids: 999 }));
    expect(failure.details).toMatchObject({ path: fake.real('/sys/fs/cgroup/airlock/s1'), errno: 'EEXIST' });
    expect(await read('/sys/fs/cgroup/airlock/s1/pids.max')).toBe('32');
  });

  it('rejects ../../etc before touching the filesystem (adversarial)', async () => {
    const { fake, manager } = await setup();
    const before = await fake.snapshot();
    const failure = await rejectionOf(manager.create('../../etc', limits));
    expect(failure.code).toBe('INVALID_ARGUMENT');
    expect(await fake.snapshot()).toEqual(before);
  });

  it('reads stats and the OOM kill count from the kernel files', async () => {
    const { fake, manager } = await setup();
    const session = await manager.create('s1', limits);
    const dir = fake.real('/sys/fs/cgroup/airlock/s1');
    await writeFile(`${dir}/memory.current`, '1048576\n');
    await writeFile(`${dir}/memory.peak`, '2097152\n');
    await writeFile(`${dir}/pids.current`, '3\n');
    await writeFile(`${dir}/cpu.stat`, 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n');
    await writeFile(`${dir}/memory.events`, 'low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\noom_group_kill 0\n');
    expect(await session.stats()).toEqual({
      memoryBytes: 1048576,
      memoryPeakBytes: 2097152,
      pids: 3,
      cpuUsageNs: 1_500_000,
    });
    expect(await session.oomKillCount()).toBe(2);
  });

  it('kills through cgroup.kill and removes the directory; remove is idempotent', async () => {
    const { fake, manager } = await setup();
    const before = await fake.snapshot();
    const session = await manager.create('s1', limits);
    const [procs] = session.procsFiles;
    // Above PID_MAX_LIMIT (2^22), so no real process can be signalled if the emulation were wrong.
    await fake.fs.writeFile(procs ?? '', '4194305');
    expect(await session.pids()).toEqual([4_194_305]);
    await session.remove();
    expect(fake.writes.some((write) => write.path === '/sys/fs/cgroup/airlock/s1/cgroup.kill')).toBe(true);
    await session.remove();
    expect(await session.pids()).toEqual([]);
    const after = await fake.snapshot();
    expect(after.filter((path) => path.includes('airlock/s1'))).toEqual([]);
    expect(after.filter((path) => !path.startsWith('sys/fs/cgroup/airlock'))).toEqual(
      before.filter((path) => !path.startsWith('sys/fs/cgroup/airlock')),
    );
  });

  it('sweeps only the sessions the predicate calls stale', async () => {
    const { manager, read } = await setup();
    await manager.create('airlock-111-a', limits);
    await manager.create('airlock-222-b', limits);
    await manager.create('airlock-111-c', limits);
    const removed = await manager.sweep((name) => name.startsWith('airlock-111-'));
    expect(removed).toEqual(['airlock-111-a', 'airlock-111-c']);
    expect(await read('/sys/fs/cgroup/airlock/airlock-222-b/pids.max')).toBe('32');
    await expect(read('/sys/fs/cgroup/airlock/airlock-111-a/pids.max')).rejects.toThrow();
  });

  it('sweeps a cgroup that another process removes while it is read (ENODEV on a removed cgroup)', async () => {
    const { fake, manager } = await setup();
    await manager.create('airlock-111-a', limits);
    // cgroup v1 answers reads of a removed cgroup's open file with ENODEV: no process is left there.
    const removing: typeof fake.fs = {
      ...fake.fs,
      readFile: async (path) => {
        if (path.endsWith('airlock-111-a/cgroup.procs')) {
          throw Object.assign(new Error(`read ${path}: no such device`), { code: 'ENODEV' });
        }
        return fake.fs.readFile(path);
      },
    };
    const layout: CgroupLayout = {
      version: 2,
      mount: fake.mount,
      selfPath: '/',
      controllers: ['cpu', 'memory', 'pids', 'io'],
      uid: 0,
    };
    const sweeping = createCgroupManager({ layout, fsRoot: fake.fsRoot, fs: removing });
    expect(await sweeping.sweep((name) => name.startsWith('airlock-111-'))).toEqual(['airlock-111-a']);
  });
});
