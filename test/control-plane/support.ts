/**
 * A real control plane for tests: real SQLite in a temporary state directory, real bwrap sandboxes.
 * Each test gets its own home, so stores and sandboxes never mix between tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock, CreateAirlockOptions } from '../../src/index.ts';

const opened: Array<{ airlock: Airlock; home: string }> = [];

afterEach(async () => {
  for (const { airlock, home } of opened.splice(0)) {
    await airlock.close();
    rmSync(home, { recursive: true, force: true });
  }
});

export function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'airlock-cp-test-'));
}

/** A control plane closed (and its home removed) after the test. Cross-check off: faster, and judged the same. */
export async function openAirlock(
  options: Omit<CreateAirlockOptions, 'home' | 'env'> & {
    home?: string;
    /** Host environment variables besides HOME (e.g. values named by router.secretEnv). */
    envExtra?: Record<string, string>;
  } = {},
): Promise<{ airlock: Airlock; home: string }> {
  const home = options.home ?? tempHome();
  const { envExtra, ...rest } = options;
  const airlock = await createAirlock({
    crossCheck: false,
    approvalPollIntervalMs: 50,
    ...rest,
    home,
    env: { ...envExtra, HOME: home },
  });
  const entry = { airlock, home };
  opened.push(entry);
  return entry;
}

export { eventually } from '../support/eventually.ts';
