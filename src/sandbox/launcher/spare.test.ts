import { describe, expect, it } from 'vitest';
import type { CgroupLimits, SessionCgroup } from '../cgroups/index.ts';
import type { Launcher } from './launcher.ts';
import { createSpareLauncher, parkedLimits } from './spare.ts';
import type { ParkedLauncher } from './spare.ts';

interface FakeParked extends ParkedLauncher {
  limits: CgroupLimits[];
  die(): void;
}

function fakeParked(limits: CgroupLimits): FakeParked {
  let die = (): void => {};
  const exited = new Promise<void>((resolve) => (die = resolve));
  const applied = [limits];
  return {
    limits: applied,
    die,
    cgroup: {
      setLimits: async (next: CgroupLimits) => void applied.push(next),
    } as unknown as SessionCgroup,
    launcher: { exited } as unknown as Launcher,
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !check(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
}

const sessionLimits: CgroupLimits = { memoryBytes: 256 << 20, cpus: 1, pids: 64 };

describe('createSpareLauncher', () => {
  it('parks one launcher under the parked limits and hands it out with the session limits', async () => {
    const discarded: FakeParked[] = [];
    const slot = createSpareLauncher<FakeParked>({
      enabled: true,
      discard: async (p) => void discarded.push(p),
    });
    const made: FakeParked[] = [];
    const park = async (limits: CgroupLimits) => {
      const parked = fakeParked(limits);
      made.push(parked);
      return parked;
    };
    slot.refill(park);
    slot.refill(park); // one spare at most: a second refill while parking does nothing
    await until(() => made.length === 1);
    const taken = await slot.take(sessionLimits);
    expect(taken).toBe(made[0]);
    expect(taken?.limits).toEqual([parkedLimits, sessionLimits]);
    expect(await slot.take(sessionLimits)).toBeUndefined();
    expect(discarded).toEqual([]);
    await slot.close();
  });

  it('never hands out a spare that died while parked, and discards it', async () => {
    const discarded: FakeParked[] = [];
    const slot = createSpareLauncher<FakeParked>({
      enabled: true,
      discard: async (p) => void discarded.push(p),
    });
    let parked: FakeParked | undefined;
    slot.refill(async (limits) => (parked = fakeParked(limits)));
    await until(() => parked !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 10));
    parked?.die();
    await until(() => discarded.length === 1);
    expect(await slot.take(sessionLimits)).toBeUndefined();
    await slot.close();
  });

  it('discards the held spare on close and parks nothing afterwards', async () => {
    const discarded: FakeParked[] = [];
    const slot = createSpareLauncher<FakeParked>({
      enabled: true,
      discard: async (p) => void discarded.push(p),
    });
    let made = 0;
    const park = async (limits: CgroupLimits) => {
      made += 1;
      return fakeParked(limits);
    };
    slot.refill(park);
    await until(() => made === 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    await slot.close();
    expect(discarded).toHaveLength(1);
    slot.refill(park);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(made).toBe(1);
  });

  it('keeps no spare when disabled', async () => {
    const slot = createSpareLauncher<FakeParked>({ enabled: false, discard: async () => {} });
    let made = 0;
    slot.refill(async (limits) => {
      made += 1;
      return fakeParked(limits);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(made).toBe(0);
    expect(await slot.take(sessionLimits)).toBeUndefined();
  });
});
