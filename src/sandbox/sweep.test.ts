import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweepLeftovers } from './index.ts';

describe('sweepLeftovers', () => {
  let home = '';
  afterEach(() => {
    if (home !== '') rmSync(home, { recursive: true, force: true });
  });

  it("removes a dead control plane's leftovers, reports a driver that is not installed as skipped, and never throws", async () => {
    home = mkdtempSync(join(tmpdir(), 'airlock-sweep-'));
    // A pid that has just exited names a control plane that is gone.
    const deadPid = spawnSync('/bin/true').pid;
    const spools = join(home, 'sandboxes');
    const dead = [`${deadPid}-0a1b2c3d4e5f`, `${deadPid}-0a1b2c3d4e60`];
    // Adversarial: leftovers of live control planes (this one, and pid 1) must stay.
    const live = [`${process.pid}-0a1b2c3d4e5f`, '1-0a1b2c3d4e5f'];
    expect(dead.length + live.length).toBe(4);
    for (const name of [...dead, ...live]) mkdirSync(join(spools, name), { recursive: true });
    mkdirSync(join(home, 'docker', 'sandboxes', dead[0] ?? ''), { recursive: true });

    const result = await sweepLeftovers({
      stateDir: home,
      dockerSocket: join(home, 'no-such-docker.sock'),
      cgroupParent: `airlock-sweep-unit-${process.pid}`,
    });

    expect(result.drivers.map((entry) => entry.driver)).toEqual(['gvisor', 'docker', 'bwrap']);
    expect(result.drivers[0]).toEqual({ driver: 'gvisor', removed: 0 });
    expect(result.drivers[1]).toEqual({
      driver: 'docker',
      removed: 0,
      skipped: expect.stringContaining('no Docker daemon here') as string,
    });
    expect(result.drivers[2]).toEqual({ driver: 'bwrap', removed: 2 });
    expect(result.removed).toBe(2);
    expect(readdirSync(spools).sort()).toEqual([...live].sort());
  });
});
