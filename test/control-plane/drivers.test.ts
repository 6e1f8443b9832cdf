/**
 * One setting picks the isolation: the same session API over gVisor and Docker, with the driver's
 * isolation in the session info and the audit log. (Containment itself is the containment suite's job.)
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dockerAvailability } from '../containment/docker-availability.ts';
import { openAirlock } from './support.ts';

const runscInstalled = ['/usr/bin/runsc', '/usr/local/bin/runsc', '/usr/sbin/runsc'].some((path) =>
  existsSync(path),
);
const gvisorUnavailable = !runscInstalled
  ? 'runsc is not installed'
  : process.getuid?.() !== 0
    ? 'the gVisor driver needs root'
    : undefined;
const dockerUnavailable = await dockerAvailability('runc');

const cases = [
  { driver: 'gvisor' as const, unavailable: gvisorUnavailable, isolation: 'gvisor' },
  { driver: 'docker' as const, unavailable: dockerUnavailable, isolation: 'docker/runc' },
];

describe.each(cases)('a session on $driver', ({ driver, unavailable, isolation }) => {
  it.skipIf(unavailable !== undefined)(
    `runs commands through the same pipeline${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    async () => {
      const { airlock } = await openAirlock({ config: { sandbox: { driver } } });
      const session = await airlock.sessions.create();
      const info = await session.info();
      expect(info.driver).toBe(driver);
      expect(info.isolation?.isolation).toBe(isolation);
      const result = await session.run('echo hi from $(uname -s) && echo kept > notes.txt');
      expect(result.status).toBe('completed');
      expect(result.stdout).toBe('hi from Linux\n');
      expect((await session.files.read('/workspace/notes.txt')).toString()).toBe('kept\n');
      expect((await session.run('rm -rf /')).status).toBe('denied');
      const [created] = await airlock.audit.list({ sessionId: session.id, types: ['session.created'] });
      expect(created?.data['driver']).toBe(driver);
      await session.destroy();
      expect((await airlock.sessions.info(session.id)).state).toBe('ended');
    },
  );
});
