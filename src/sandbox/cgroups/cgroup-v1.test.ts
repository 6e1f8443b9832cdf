import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:fs';
import { access, mkdir, open, readFile, rmdir, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import { createCgroupManager, readCgroupLayout } from './index.ts';
import type { CgroupLayout, CgroupLimits, CgroupManager, CgroupV1Layout, SessionCgroup } from './index.ts';

const detected: CgroupLayout | undefined = await readCgroupLayout().catch(() => undefined);
const v1Layout: CgroupV1Layout | undefined =
  detected?.version === 1 && detected.uid === 0 ? detected : undefined;
const isRootWithV1 = v1Layout !== undefined;

const limits: CgroupLimits = { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pids: 32 };
// Own parent per test process: the shared `airlock` parent holds live sessions of other suites, and
// their start-up sweeps must not race with ours.
const parent = `airlock-cgroups-test-${process.pid}`;

// Waits for a number on stdin, then allocates and touches that many MiB: the process can be moved into
// the cgroup after spawn and before it allocates.
const allocateOnDemand = `
process.stdin.on('data', (chunk) => {
  globalThis.kept = Buffer.alloc(Number(String(chunk).trim()) * 1024 * 1024, 1);
  process.stdout.write('allocated\\n');
});`;

const children: ChildProcess[] = [];
const sessions: SessionCgroup[] = [];

async function spawnChild(file: string, args: readonly string[]): Promise<ChildProcess & { pid: number }> {
  const child = spawn(file, args, { shell: false, stdio: ['pipe', 'pipe', 'ignore'], env: {}, cwd: '/' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  const { pid } = child;
  if (pid === undefined) throw new Error('spawned child has no pid');
  return Object.assign(child, { pid });
}

async function joinSession(session: SessionCgroup, pid: number): Promise<void> {
  for (const file of session.procsFiles) {
    const handle = await open(file, constants.O_WRONLY);
    try {
      await handle.write(String(pid));
    } finally {
      await handle.close();
    }
  }
}

// A zombie is dead; it only waits to be reaped (possibly by a PID 1 that never reaps).
async function isGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function parentPid(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await sleep(20);
  }
  return condition();
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function kernelValue(path: string): Promise<string> {
  return (await readFile(path, 'utf8')).trim();
}

describe.skipIf(!isRootWithV1)('cgroup manager on v1 (real kernel; needs root on a cgroup v1 host)', () => {
  // Hooks and tests of a skipped suite never run, so these are set whenever a test uses them.
  let mounts: CgroupV1Layout['mounts'];
  let manager: CgroupManager;

  beforeAll(() => {
    if (v1Layout === undefined) throw new Error('suite runs only with a v1 layout');
    mounts = v1Layout.mounts;
    manager = createCgroupManager({ layout: v1Layout, parent });
  });

  async function create(name: string): Promise<SessionCgroup> {
    const session = await manager.create(name, limits);
    sessions.push(session);
    return session;
  }

  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    for (const session of sessions.splice(0)) await session.remove();
  });

  afterAll(async () => {
    const roots = [...new Set(Object.values(mounts))];
    for (const root of roots) await rmdir(`${root}/${parent}`).catch(() => undefined);
  });

  it('writes limits the kernel reports back, and lists a joined process', async () => {
    const session = await create('limits');
    const memoryDir = `${mounts.memory}/${parent}/limits`;
    expect(await kernelValue(`${memoryDir}/memory.limit_in_bytes`)).toBe('67108864');
    if (await exists(`${memoryDir}/memory.memsw.limit_in_bytes`)) {
      expect(await kernelValue(`${memoryDir}/memory.memsw.limit_in_bytes`)).toBe('67108864');
    } else {
      expect(await kernelValue(`${memoryDir}/memory.swappiness`)).toBe('0');
    }
    expect(await kernelValue(`${mounts.pids}/${parent}/limits/pids.max`)).toBe('32');
    expect(await kernelValue(`${mounts.cpu}/${parent}/limits/cpu.cfs_period_us`)).toBe('100000');
    expect(await kernelValue(`${mounts.cpu}/${parent}/limits/cpu.cfs_quota_us`)).toBe('50000');

    const child = await spawnChild('/usr/bin/sleep', ['30']);
    await joinSession(session, child.pid);
    expect(await session.pids()).toEqual([child.pid]);
    for (const file of session.procsFiles) expect(await kernelValue(file)).toBe(String(child.pid));
  });

  it('rewrites limits upwards and downwards, keeping memsw >= memory at each step', async () => {
    const session = await create('retarget');
    const memoryDir = `${mounts.memory}/${parent}/retarget`;
    const hasMemsw = await exists(`${memoryDir}/memory.memsw.limit_in_bytes`);
    for (const next of [
      { memoryBytes: 512 * 1024 * 1024, cpus: 2, pids: 200 },
      { memoryBytes: 16 * 1024 * 1024, cpus: 0.25, pids: 8 },
    ]) {
      await session.setLimits(next);
      expect(await kernelValue(`${memoryDir}/memory.limit_in_bytes`)).toBe(String(next.memoryBytes));
      if (hasMemsw)
        expect(await kernelValue(`${memoryDir}/memory.memsw.limit_in_bytes`)).toBe(String(next.memoryBytes));
      expect(await kernelValue(`${mounts.pids}/${parent}/retarget/pids.max`)).toBe(String(next.pids));
      expect(await kernelValue(`${mounts.cpu}/${parent}/retarget/cpu.cfs_quota_us`)).toBe(
        String(next.cpus * 100000),
      );
    }
  });

  it('reports memory, peak, tasks and CPU time of the session', async () => {
    const session = await create('stats');
    const child = await spawnChild(process.execPath, ['-e', allocateOnDemand]);
    await joinSession(session, child.pid);
    const allocated = new Promise((resolve) => child.stdout?.once('data', resolve));
    child.stdin?.write('16\n');
    await allocated;
    const stats = await session.stats();
    expect(stats.memoryBytes).toBeGreaterThanOrEqual(16 * 1024 * 1024);
    expect(stats.memoryBytes).toBeLessThanOrEqual(limits.memoryBytes);
    expect(stats.memoryPeakBytes).toBeGreaterThanOrEqual(stats.memoryBytes);
    // Node runs several threads, and pids counts tasks.
    expect(stats.pids).toBeGreaterThanOrEqual(1);
    expect(stats.pids).toBeLessThanOrEqual(limits.pids);
    expect(stats.cpuUsageNs).toBeGreaterThan(0);
  });

  it('OOM-kills a process that allocates past the memory limit and counts it', async () => {
    const session = await create('oom');
    const hog = await spawnChild(process.execPath, ['-e', allocateOnDemand]);
    await joinSession(session, hog.pid);
    const before = await session.oomKillCount();
    // Resolves on whichever comes first, so an unenforced limit fails fast instead of timing out.
    const outcome = new Promise<string>((resolve) => {
      hog.once('exit', (_code, signal) => resolve(`exit ${signal ?? 'without signal'}`));
      hog.stdout?.once('data', () => resolve('allocated 200 MiB past a 64 MiB limit'));
    });
    hog.stdin?.write('200\n');
    expect(await outcome).toBe('exit SIGKILL');
    expect(await session.oomKillCount()).toBeGreaterThan(before);
  });

  it('kills processes forked inside the session after the parent joined (adversarial)', async () => {
    const session = await create('forks');
    const shell = await spawnChild('/bin/sh', ['-c', 'read go; sleep 100 & sleep 100 & wait']);
    await joinSession(session, shell.pid);
    shell.stdin?.write('go\n');
    expect(await waitFor(async () => (await session.pids()).length === 3, 2_000)).toBe(true);
    const pids = await session.pids();
    const forked = pids.filter((pid) => pid !== shell.pid);
    expect(forked).toHaveLength(2);
    for (const pid of forked) expect(await parentPid(pid)).toBe(shell.pid);

    await session.killAll();
    expect(await session.pids()).toEqual([]);
    for (const pid of pids) expect(await isGone(pid), `pid ${pid}`).toBe(true);
  });

  it('removes every directory in every hierarchy, and a second remove is harmless', async () => {
    const session = await create('remove');
    const child = await spawnChild('/usr/bin/sleep', ['30']);
    await joinSession(session, child.pid);
    await session.remove();
    expect(await isGone(child.pid)).toBe(true);
    for (const root of new Set(Object.values(mounts)))
      expect(await exists(`${root}/${parent}/remove`)).toBe(false);
    await session.remove();
  });

  it('names the fix when the parent cgroup is capped below the session CPU limit (v1 refuses the quota)', async () => {
    const capped = `${parent}-capped`;
    const cappedDir = `${mounts.cpu}/${capped}`;
    await mkdir(cappedDir, { recursive: true });
    try {
      // A parent allowed 0.2 core cannot hold a session allowed 0.5.
      await writeFile(`${cappedDir}/cpu.cfs_period_us`, '100000');
      await writeFile(`${cappedDir}/cpu.cfs_quota_us`, '20000');
      const cappedManager = createCgroupManager({ layout: v1Layout as CgroupV1Layout, parent: capped });
      await expect(cappedManager.create('over-quota', limits)).rejects.toSatisfy(
        (error) =>
          isAirlockError(error) &&
          error.code === 'CGROUP_UNAVAILABLE' &&
          error.details.errno === 'EINVAL' &&
          /above the parent cgroup's own quota: lower sandbox\.cpus/.test(error.message),
      );
      // Within the parent's share, the same parent works.
      const fits = await cappedManager.create('within-quota', { ...limits, cpus: 0.2 });
      await fits.remove();
    } finally {
      for (const root of new Set(Object.values(mounts))) {
        await rmdir(`${root}/${capped}/over-quota`).catch(() => undefined);
        await rmdir(`${root}/${capped}`).catch(() => undefined);
      }
    }
  });

  it('refuses to reuse an existing session cgroup, and ../../etc never reaches the filesystem', async () => {
    await create('taken');
    await expect(manager.create('taken', limits)).rejects.toSatisfy(
      (error) =>
        isAirlockError(error) && error.code === 'CGROUP_UNAVAILABLE' && error.details.errno === 'EEXIST',
    );
    expect(await kernelValue(`${mounts.pids}/${parent}/taken/pids.max`)).toBe('32');
    await expect(manager.create('../../etc', limits)).rejects.toSatisfy(
      (error) => isAirlockError(error) && error.code === 'INVALID_ARGUMENT',
    );
    expect(await exists(`${mounts.memory}/etc`)).toBe(false);
  });

  it('sweeps stale sessions in every hierarchy and keeps live ones', async () => {
    const stale = await manager.create('owner-1-a', limits);
    const child = await spawnChild('/usr/bin/sleep', ['30']);
    await joinSession(stale, child.pid);
    await create('owner-2-b');
    expect(await manager.sweep((name) => name.startsWith('owner-1-'))).toEqual(['owner-1-a']);
    expect(await isGone(child.pid)).toBe(true);
    for (const root of new Set(Object.values(mounts))) {
      expect(await exists(`${root}/${parent}/owner-1-a`)).toBe(false);
      expect(await exists(`${root}/${parent}/owner-2-b`)).toBe(true);
    }
  });
});
