/**
 * `airlock sessions ls|rm`, locally (the store a running server shares) and over --url against a real
 * server on 127.0.0.1.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bwrapMissing, newHome } from './cli-process.ts';
import { airlock, jsonLines, oneLineOf, startApprovingServer } from './remote-support.ts';

describe('airlock sessions with no store yet', () => {
  it('ls says there are none, in a table and as JSON, and creates no database', async () => {
    const home = newHome();
    expect(await airlock(['sessions', 'ls'], home)).toMatchObject({ exitCode: 0, stdout: 'no sessions\n' });
    expect(await airlock(['sessions', 'ls', '--state', 'active'], home)).toMatchObject({
      exitCode: 0,
      stdout: 'no active sessions\n',
    });
    expect(await airlock(['sessions', 'ls', '--json'], home)).toMatchObject({ exitCode: 0, stdout: '' });
    expect(readdirSync(home)).toEqual([]);
  });

  it('rm without --url exits 2 with one line naming --url and the address airlock serve would print', async () => {
    const home = newHome();
    writeFileSync(join(home, 'airlock.yaml'), 'server:\n  port: 7555\n');
    const removed = await airlock(['sessions', 'rm', 'ses_abc'], home);
    expect(removed.exitCode).toBe(2);
    expect(removed.stdout).toBe('');
    expect(oneLineOf(removed)).toMatch(
      /only the airlock serve running its sandbox can.*--url http:\/\/127\.0\.0\.1:7555$/,
    );
  });

  it('refuses a --state it does not know with the usage status', async () => {
    const result = await airlock(['sessions', 'ls', '--state', 'sleeping'], newHome());
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--state.*sleeping/);
  });
});

describe.skipIf(bwrapMissing)('airlock sessions against a running server', () => {
  it('ls lists the same sessions from the store and over --url, as a table and as JSON lines', async () => {
    const server = await startApprovingServer();
    const first = await server.airlock.sessions.create();
    const second = await server.airlock.sessions.create();
    await second.destroy();

    for (const where of [[], ['--url', server.url]]) {
      const table = await airlock(['sessions', 'ls', ...where], server.home);
      expect(table.stderr).toBe('');
      expect(table.exitCode).toBe(0);
      const lines = table.stdout.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      expect(lines[0]).toMatch(/^ID\s+STATE\s+DRIVER\s+CREATED\s+LAST ACTIVE\s+END REASON$/);
      expect(lines[1]).toMatch(new RegExp(`^${first.id}\\s+active\\s+bwrap\\s+\\d+s ago\\s+\\d+s ago\\s+-$`));
      expect(lines[2]).toMatch(new RegExp(`^${second.id}\\s+ended\\s+bwrap\\s+.*\\sdestroyed on request$`));

      const json = jsonLines((await airlock(['sessions', 'ls', '--json', ...where], server.home)).stdout);
      expect(json.map((record) => [record['id'], record['state'], record['endReason']])).toEqual([
        [first.id, 'active', null],
        [second.id, 'ended', 'destroyed on request'],
      ]);
      expect(Object.keys(json[0] ?? {}).sort()).toEqual(
        ['createdAt', 'driver', 'endReason', 'endedAt', 'expiresAt', 'id', 'lastActiveAt', 'state'].sort(),
      );

      const ended = await airlock(['sessions', 'ls', '--state', 'ended', ...where], server.home);
      expect(ended.stdout).toContain(second.id);
      expect(ended.stdout).not.toContain(first.id);
    }
  });

  it('rm --url ends the session: its sandbox is gone and it shows as ended', async () => {
    const server = await startApprovingServer();
    const session = await server.airlock.sessions.create();
    const removed = await airlock(['sessions', 'rm', session.id, '--url', server.url], server.home);
    expect(removed.stderr).toBe('');
    expect(removed).toMatchObject({ exitCode: 0, stdout: `ended ${session.id} (destroyed on request)\n` });
    expect((await server.airlock.sessions.info(session.id)).state).toBe('ended');
    await expect(session.run('echo still here')).rejects.toMatchObject({ code: 'SESSION_ENDED' });
    const listed = await airlock(['sessions', 'ls', '--state', 'active', '--url', server.url], server.home);
    expect(listed.stdout).toBe('no active sessions\n');
    // Ending an ended session is fine.
    expect((await airlock(['sessions', 'rm', session.id, '--url', server.url], server.home)).exitCode).toBe(
      0,
    );
  });

  it('rm --url goes on past an unknown id, ends the others and exits 1', async () => {
    const server = await startApprovingServer();
    const session = await server.airlock.sessions.create();
    const removed = await airlock(
      ['sessions', 'rm', 'ses_000000000000000000000000', session.id, '--url', server.url],
      server.home,
    );
    expect(removed.exitCode).toBe(1);
    expect(removed.stdout).toBe(`ended ${session.id} (destroyed on request)\n`);
    expect(oneLineOf(removed)).toMatch(
      /no session .* at http:\/\/127\.0\.0\.1:\d+: check the id with airlock sessions ls/,
    );
    expect((await server.airlock.sessions.info(session.id)).state).toBe('ended');
  });

  it('rm without --url leaves the session running and says to pass --url', async () => {
    const server = await startApprovingServer();
    const session = await server.airlock.sessions.create();
    const removed = await airlock(['sessions', 'rm', session.id], server.home);
    expect(removed.exitCode).toBe(2);
    expect(oneLineOf(removed)).toMatch(/pass the URL it printed, e\.g\. --url http:\/\//);
    expect((await session.run('echo alive')).stdout).toBe('alive\n');
  });
});
