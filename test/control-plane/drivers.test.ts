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

const everyDriver = [
  { driver: 'bwrap' as const, unavailable: undefined },
  ...cases.map(({ driver, unavailable }) => ({ driver, unavailable })),
];

describe.each(everyDriver)('HOME on $driver', ({ driver, unavailable }) => {
  it.skipIf(unavailable !== undefined)(
    `is in the scratch, outside /workspace, and writable${unavailable ? ` (skipped: ${unavailable})` : ''}`,
    async () => {
      const { airlock } = await openAirlock({ config: { sandbox: { driver } } });
      const session = await airlock.sessions.create();
      // What a tool's cache does: write under ~ (here a pip-like cache directory).
      const result = await session.run(
        'mkdir -p ~/.cache/pip && echo x > ~/.cache/pip/entry && echo $HOME && cd && pwd',
      );
      expect(result).toMatchObject({ status: 'completed', stdout: '/tmp/home\n/tmp/home\n' });
      expect((await session.files.list('/workspace')).map((entry) => entry.name)).toEqual([]);
      expect((await session.files.read('/tmp/home/.cache/pip/entry')).toString()).toBe('x\n');
    },
  );
});

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
