/**
 * A fork bomb that meets the sandbox's process limit at the default size (256): the bomb dies, the
 * session lives, on every driver. Part of every driver's containment suite (see containment-suite.ts).
 */
import { describe, expect } from 'vitest';
import type { Driver, SandboxSpec } from '../../src/sandbox/index.ts';
import type { SuiteIt } from './kernel-surface.ts';

/** The configuration's default `sandbox.pids`. */
const DEFAULT_PIDS = 256;
/** How long the bomb keeps pressing on the limit before it is killed. */
const AT_LIMIT_MS = 1_000;
/** gVisor forks slowly: reaching 256 processes takes it about ten seconds on a loaded machine. */
const SATURATION_DEADLINE_MS = 60_000;

export function defineForkBombTests(it: SuiteIt, driver: () => Driver, baseSpec: SandboxSpec): void {
  describe('fork bomb at the default limit', () => {
    it('keeps the session when a fork bomb meets the default process limit, and kills the bomb', async () => {
      const bombed = await driver().create({ ...baseSpec, pids: DEFAULT_PIDS, cpus: 0.5 });
      try {
        const controller = new AbortController();
        let saturatedAt: number | undefined;
        const startedAt = Date.now();
        // bash reports a fork refused with EAGAIN: the bomb has met the sandbox's own limit (under
        // gVisor the sentry's RLIMIT_NPROC, which must come before the host cgroup's).
        const sink = {
          write(chunk: Buffer): boolean {
            if (saturatedAt === undefined && chunk.toString().includes('Resource temporarily unavailable')) {
              saturatedAt = Date.now();
              setTimeout(() => controller.abort(), AT_LIMIT_MS);
            }
            return true;
          },
          once(): void {},
        };
        const deadline = setTimeout(() => controller.abort(), SATURATION_DEADLINE_MS);
        const result = await bombed
          .exec('bomb() { bomb | bomb & }; bomb; sleep 300', {
            timeoutMs: SATURATION_DEADLINE_MS + AT_LIMIT_MS + 10_000,
            signal: controller.signal,
            stderrTo: sink,
          })
          .finally(() => clearTimeout(deadline));
        expect(saturatedAt, 'the bomb met the process limit').toBeDefined();
        expect(result.killed).toBe(true);
        // The kill converges quickly once it starts, even with every slot taken.
        expect(Date.now() - (saturatedAt ?? startedAt)).toBeLessThan(AT_LIMIT_MS + 10_000);
        const stats = await bombed.stats();
        expect(stats.pids).toBeLessThanOrEqual(DEFAULT_PIDS);
        const after = await bombed.exec('echo alive; ls /proc | grep -c "^[0-9]"');
        expect(after.stdout.split('\n')[0]).toBe('alive');
        // Nothing of the bomb is left: the supervisor, its keeper, this command and ls.
        expect(Number(after.stdout.split('\n')[1])).toBeLessThan(10);
      } finally {
        await bombed.destroy();
      }
    }, 120_000);
  });
}
