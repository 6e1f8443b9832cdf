import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDriver } from '../sandbox/index.ts';
import type { Sandbox } from '../sandbox/index.ts';
import { createResourceMonitor } from './index.ts';
import type { ResourceAlert } from './index.ts';

const MiB = 1024 * 1024;
const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));
const unavailable =
  process.platform !== 'linux'
    ? 'not Linux'
    : bwrapMissing
      ? 'bwrap is not installed'
      : !existsSync('/usr/bin/python3')
        ? 'the host image has no /usr/bin/python3 to allocate memory with'
        : undefined;
const stateDir = mkdtempSync(join(tmpdir(), 'airlock-metrics-test-'));
afterAll(() => rmSync(stateDir, { recursive: true, force: true }));

describe.skipIf(unavailable !== undefined)(
  `resource monitor on a bwrap sandbox (${unavailable ?? 'available'})`,
  () => {
    it('alerts when a command uses most of the memory limit', async () => {
      const driver = createDriver('bwrap', { stateDir });
      let sandbox: Sandbox | undefined;
      const alerts: ResourceAlert[] = [];
      const errors: unknown[] = [];
      const seenMiB: string[] = [];
      const monitor = createResourceMonitor({
        intervalMs: 60_000,
        onAlert: (alert) => alerts.push(alert),
        onError: (_sessionId, error) => errors.push(error),
      });
      try {
        sandbox = await driver.create({
          image: 'host',
          memoryBytes: 64 * MiB,
          cpus: 0.5,
          pids: 64,
          scratchBytes: 16 * MiB,
          env: {},
          timeoutMs: 10_000,
        });
        const live = sandbox;
        monitor.watch('s1', { stats: () => live.stats(), cpus: 0.5 });
        await monitor.sampleAll();
        const idle = monitor.latest('s1');
        expect(idle).toMatchObject({ memoryLimitBytes: 64 * MiB, pidsLimit: 64 });

        // ~54 MiB in total with the interpreter: past 80 % of 64 MiB, short of the OOM killer.
        const running = sandbox.exec(
          '/usr/bin/python3 -c \'b=bytearray(50*1024*1024); print("ready", flush=True); import time; time.sleep(2)\'',
        );
        let finished = false;
        const markFinished = (): void => {
          finished = true;
        };
        void running.then(markFinished, markFinished);
        const hasMemoryAlert = (): boolean => alerts.some((alert) => alert.resource === 'memory');
        while (!hasMemoryAlert() && !finished) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          await monitor.sampleAll();
          seenMiB.push(((monitor.latest('s1')?.memoryBytes ?? 0) / MiB).toFixed(1));
        }
        const result = await running;

        expect(result).toMatchObject({ exitCode: 0, oomKilled: false });
        expect(errors).toEqual([]);
        const memory = alerts.filter((alert) => alert.resource === 'memory');
        expect(memory, `memory samples (MiB): ${seenMiB.join(' ')}`).toHaveLength(1);
        expect(memory[0]).toMatchObject({ sessionId: 's1', limit: 64 * MiB });
        expect(memory[0]?.fraction).toBeGreaterThanOrEqual(0.8);
      } finally {
        monitor.close();
        await sandbox?.destroy();
        await driver.close();
      }
    });
  },
);
