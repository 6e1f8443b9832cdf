/**
 * A whole control plane on the in-memory test driver: real SQLite and the real router, sessions and
 * policy, with sandboxes that run nothing on the host. Each one gets its own state directory; both
 * are closed and removed after the test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock, CreateAirlockOptions } from '../../src/index.ts';
import { createMemoryDriver } from './memory-driver/index.ts';
import type { MemoryDriver, MemoryDriverOptions } from './memory-driver/index.ts';

export interface MemoryAirlock {
  readonly airlock: Airlock;
  readonly driver: MemoryDriver;
  readonly home: string;
}

const opened: MemoryAirlock[] = [];

afterEach(async () => {
  for (const { airlock, home } of opened.splice(0)) {
    await airlock.close();
    rmSync(home, { recursive: true, force: true });
  }
});

export async function openMemoryAirlock(
  options: Omit<CreateAirlockOptions, 'home' | 'env' | 'drivers'> & {
    /** Host environment variables besides HOME (e.g. values named by router.secretEnv). */
    readonly envExtra?: Record<string, string>;
    readonly memory?: MemoryDriverOptions;
  } = {},
): Promise<MemoryAirlock> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-unit-'));
  const { envExtra, memory, ...rest } = options;
  const driver = createMemoryDriver(memory);
  try {
    const airlock = await createAirlock({
      crossCheck: false,
      approvalPollIntervalMs: 20,
      ...rest,
      drivers: { [driver.name]: driver },
      home,
      env: { ...envExtra, HOME: home },
    });
    const entry = { airlock, driver, home };
    opened.push(entry);
    return entry;
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

export { eventually } from './eventually.ts';
