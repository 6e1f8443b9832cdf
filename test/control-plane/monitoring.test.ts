/**
 * Monitoring end to end: a session using most of its memory raises one resource alert, recorded in
 * the audit log and counted in the Prometheus metrics.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicy } from '../../src/index.ts';
import { eventually, openAirlock } from './support.ts';

const MiB = 1024 * 1024;

describe.skipIf(!existsSync('/usr/bin/python3'))(
  'resource monitoring (needs python3 in the sandbox image)',
  () => {
    it('records an alert when memory use crosses 80 % of the limit, and exposes counters', async () => {
      const { airlock } = await openAirlock({
        policy: loadPolicy({ preset: 'permissive' }),
        monitorIntervalMs: 100,
      });
      const session = await airlock.sessions.create({ memoryBytes: 64 * MiB });
      const hog = await session.run(`python3 -c 'b = bytearray(${50 * MiB}); import time; time.sleep(1.5)'`, {
        background: true,
      });
      // Allocating is CPU work too, so a CPU alert may come first; the memory alert is the one asserted.
      const memoryAlerts = async () =>
        (await airlock.audit.list({ types: ['resource.alert'] })).filter(
          (event) => event.data['resource'] === 'memory',
        );
      expect(await eventually(async () => (await memoryAlerts()).length > 0, 5000)).toBe(true);
      const [alert] = await memoryAlerts();
      expect(alert?.sessionId).toBe(session.id);
      expect(alert?.data['resource']).toBe('memory');
      expect(Number(alert?.data['fraction'])).toBeGreaterThanOrEqual(0.8);
      expect((await session.commands.wait(hog.id)).status).toBe('completed');

      const info = await session.info();
      expect(info.usage?.memoryBytes).toBeGreaterThan(0);
      const metrics = await airlock.metrics.render();
      expect(metrics).toMatch(/airlock_resource_alerts_total\{resource="memory"\} 1/);
      expect(metrics).toMatch(/airlock_commands_total\{status="completed",driver="bwrap"\} 1/);
    });
  },
);
