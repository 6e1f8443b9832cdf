import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../errors/index.ts';
import { nodeCgroupFs } from './cgroup-fs.ts';
import { createCgroupManager } from './index.ts';

const temps: string[] = [];
afterEach(async () => {
  for (const dir of temps.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlock-cgroup-fs-'));
  temps.push(dir);
  return dir;
}

describe('nodeCgroupFs', () => {
  it('never creates a missing interface file on write (ENOENT instead)', async () => {
    const dir = await tempDir();
    await expect(nodeCgroupFs.writeFile(join(dir, 'memory.max'), '1')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('makes the manager refuse a directory tree that is not cgroupfs, leaving nothing behind', async () => {
    const fsRoot = await tempDir();
    await mkdir(join(fsRoot, 'sys/fs/cgroup'), { recursive: true });
    const manager = createCgroupManager({
      layout: {
        version: 2,
        mount: '/sys/fs/cgroup',
        selfPath: '/',
        controllers: ['cpu', 'memory', 'pids'],
        uid: 0,
      },
      fsRoot,
    });
    const failure = await manager
      .create('s1', { memoryBytes: 1 << 26, cpus: 1, pids: 8 })
      .catch((error: unknown) => error);
    expect(isAirlockError(failure) && failure.code).toBe('CGROUP_UNAVAILABLE');
    expect(isAirlockError(failure) && failure.details).toMatchObject({
      path: join(fsRoot, 'sys/fs/cgroup/airlock/s1'),
      errno: 'ENOTCGROUP',
    });
    expect(await readdir(join(fsRoot, 'sys/fs/cgroup'))).toEqual([]);
  });
});
