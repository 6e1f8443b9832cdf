/**
 * `airlock approvals …` and `airlock audit …` with --url against a real server on 127.0.0.1 (token from
 * the state directory's admin-token file, or AIRLOCK_TOKEN), and how every way of failing to talk to a
 * server ends: one line and an exit status.
 */
import { writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { call, startTestServer } from '../api/support.ts';
import { bwrapMissing, newHome, runCliProcess } from './cli-process.ts';
import {
  airlock,
  closedPort,
  jsonLines,
  oneLineOf,
  pendingCommand,
  startApprovingServer,
  startFakeServer,
} from './remote-support.ts';

describe.skipIf(bwrapMissing)('airlock approvals --url', () => {
  it('ls shows the request waiting in the server, as a table and as JSON lines', async () => {
    const server = await startApprovingServer();
    const { session, approvalId } = await pendingCommand(server);
    const listed = await airlock(['approvals', 'ls', '--url', server.url], server.home);
    expect(listed.stderr).toBe('');
    expect(listed.exitCode).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatch(
      new RegExp(`^${approvalId}\\s+${session.id}\\s+\\d+s\\s+in \\d+m\\d\\ds\\s+touch x$`),
    );
    const json = jsonLines(
      (await airlock(['approvals', 'ls', '--json', '--url', server.url], server.home)).stdout,
    );
    expect(json).toMatchObject([{ id: approvalId, status: 'pending', parsed: ['touch x'] }]);
  });

  it('approve lets the waiting command run, recorded as the admin token; a second decision exits 3', async () => {
    const server = await startApprovingServer();
    const { commandId, approvalId } = await pendingCommand(server);
    const approved = await airlock(['approvals', 'approve', approvalId, '--url', server.url], server.home);
    expect(approved.stderr).toBe('');
    expect(approved.exitCode).toBe(0);
    expect(approved.stdout).toMatch(
      new RegExp(`^approved ${approvalId} \\(touch x\\) in session \\S+ by api:admin:\\w+\\n$`),
    );
    expect((await server.airlock.commands.wait(commandId)).status).toBe('completed');

    const again = await airlock(['approvals', 'deny', approvalId, '--url', server.url], server.home);
    expect(again.exitCode).toBe(3);
    expect(oneLineOf(again)).toMatch(/already approved .*; that decision stands/);
  });

  it('deny --reason keeps the command from running and the model reads the reason', async () => {
    const server = await startApprovingServer();
    const { commandId, approvalId } = await pendingCommand(server);
    const args = ['approvals', 'deny', approvalId, '--reason', 'not in this task', '--url', server.url];
    expect((await airlock(args, server.home)).exitCode).toBe(0);
    const result = await server.airlock.commands.wait(commandId);
    expect(result.status).toBe('denied');
    expect(result.forModel).toContain('not in this task');
  });

  it('an unknown id exits 1 naming the server', async () => {
    const server = await startApprovingServer();
    const result = await airlock(
      ['approvals', 'approve', 'apr_000000000000000000000000', '--url', server.url],
      server.home,
    );
    expect(result.exitCode).toBe(1);
    expect(oneLineOf(result)).toMatch(new RegExp(`no approval request .* in ${server.url}: check the id`));
  });

  it('watch --interactive polls the server and applies the answer read from stdin', async () => {
    const server = await startApprovingServer();
    const { commandId, approvalId } = await pendingCommand(server);
    const watched = await airlock(['approvals', 'watch', '--interactive', '--url', server.url], server.home, {
      stdin: 'y\n',
    });
    expect(watched.exitCode).toBe(0);
    expect(watched.stderr).toContain(`watching ${server.url} for approval requests`);
    expect(watched.stdout).toContain(`approval requested ${approvalId}`);
    expect(watched.stdout).toMatch(/approve\? .*: y\napproved apr_\w+ \(touch x\)/);
    expect((await server.airlock.commands.wait(commandId)).status).toBe('completed');
  });

  it('works from a separate process, which exits once done (no connection keeps it alive)', async () => {
    const server = await startApprovingServer();
    const { approvalId } = await pendingCommand(server);
    const listed = await runCliProcess(['approvals', 'ls', '--url', server.url], server.home);
    expect(listed.stderr).toBe('');
    expect(listed.exitCode).toBe(0);
    expect(listed.stdout).toContain(approvalId);
  });
});

describe.skipIf(bwrapMissing)('airlock audit --url', () => {
  async function recordedServer() {
    const server = await startApprovingServer();
    const session = await server.airlock.sessions.create();
    await session.run('echo one');
    await session.run('echo two');
    return { server, session, events: await server.airlock.audit.list({ limit: 10_000 }) };
  }

  it('tail prints the newest events the same as reading the store', async () => {
    const { server, events } = await recordedServer();
    const remote = await airlock(['audit', 'tail', '-n', '3', '--url', server.url], server.home);
    expect(remote.exitCode).toBe(0);
    expect(
      remote.stdout
        .trimEnd()
        .split('\n')
        .map((line) => line.split(' ')[1]),
    ).toEqual(events.slice(-3).map((event) => `#${event.seq}`));
    expect(remote.stdout).toBe((await airlock(['audit', 'tail', '-n', '3'], server.home)).stdout);
  });

  it('export streams the same JSON lines as the store gives, and --since and --session filter', async () => {
    const { server, session, events } = await recordedServer();
    const remote = await airlock(['audit', 'export', '--jsonl', '--url', server.url], server.home);
    expect(remote.exitCode).toBe(0);
    expect(jsonLines(remote.stdout).map((event) => event['seq'])).toEqual(events.map((event) => event.seq));
    expect(remote.stdout).toBe((await airlock(['audit', 'export'], server.home)).stdout);

    const since = await airlock(
      ['audit', 'export', '--since', '2', '--session', session.id, '--url', server.url],
      server.home,
    );
    const filtered = jsonLines(since.stdout);
    expect(filtered.length).toBeGreaterThan(0);
    for (const event of filtered) {
      expect(event['seq']).toBeGreaterThan(2);
      expect(event['sessionId']).toBe(session.id);
    }
  });

  it('export stops when the reader of stdout goes away, exiting 141', async () => {
    const { server } = await recordedServer();
    const result = await airlock(['audit', 'export', '--url', server.url], server.home, {
      closeOutputAfterFirstWrite: true,
    });
    expect(result.exitCode).toBe(141);
    expect(result.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(result.stderr).toBe('');
  });

  it('verify checks the chain and signatures on the server and prints its head', async () => {
    const { server, events } = await recordedServer();
    const verified = await airlock(['audit', 'verify', '--url', server.url], server.home);
    expect(verified.exitCode).toBe(0);
    const n = events.length;
    // No checkpoint yet: the server signs every 1000 events, each minute and when it stops.
    expect(verified.stdout).toBe(
      `ok: ${n} events verified, head ${events.at(-1)?.hash}\n` +
        "signatures: 0 checkpoints verified with the server's key\n" +
        `unsigned: events 1..${n} (${n}) are covered only by the hash chain until the next checkpoint\n`,
    );
  });

  it('verify --witness compares the server store with a witness file kept here', async () => {
    const { server, events } = await recordedServer();
    const exported = await airlock(['audit', 'export', '--url', server.url], server.home);
    const witness = join(server.home, 'kept-elsewhere.jsonl');
    writeFileSync(witness, exported.stdout);
    const verified = await airlock(
      ['audit', 'verify', '--url', server.url, '--witness', witness],
      server.home,
    );
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toContain(`witness ${witness}: events 1..${events.length} match the store\n`);

    writeFileSync(witness, exported.stdout.replace('"echo one"', '"echo 1"'));
    const edited = await airlock(['audit', 'verify', '--url', server.url, '--witness', witness], server.home);
    expect(edited.exitCode).toBe(1);
    expect(edited.stdout).toMatch(/^FAILED at seq \d+ \(witness-mismatch\): .*does not match its own hash/);
  });

  it('verify --public-key with --url is a usage error: the key is checked where the store is', async () => {
    const { server } = await recordedServer();
    const result = await airlock(
      ['audit', 'verify', '--url', server.url, '--public-key', join(server.home, 'audit.pub')],
      server.home,
    );
    expect(result.exitCode).toBe(2);
    expect(oneLineOf(result)).toMatch(/--public-key needs the store itself/);
  });
});

describe('--url failures: one line and an exit status', () => {
  it('a wrong token is UNAUTHENTICATED: exit 125 naming where the token came from', async () => {
    const server = await startTestServer();
    const result = await airlock(['approvals', 'ls', '--url', server.url], server.home, {
      env: { AIRLOCK_TOKEN: 'alk_admin_not-the-right-token' },
    });
    expect(result.exitCode).toBe(125);
    expect(result.stdout).toBe('');
    expect(oneLineOf(result)).toMatch(
      new RegExp(`^airlock: ${server.url} refused the admin token from AIRLOCK_TOKEN \\(unknown token`),
    );
  });

  it('a session token is not enough for approvals (adversarial): exit 125, FORBIDDEN explained', async () => {
    const server = await startTestServer();
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const sessionToken = (created.body as { token: string }).token;
    const result = await airlock(['audit', 'verify', '--url', server.url], server.home, {
      env: { AIRLOCK_TOKEN: sessionToken },
    });
    expect(result.exitCode).toBe(125);
    expect(oneLineOf(result)).toMatch(/is not .* admin token \(a session token\?\)/);
  });

  it('no token anywhere: exit 125 saying where it looked, and nothing is sent', async () => {
    const fake = await startFakeServer((_request, response) => response.end('{}'));
    const home = newHome();
    const result = await airlock(['approvals', 'ls', '--url', fake.url], home);
    expect(result.exitCode).toBe(125);
    expect(oneLineOf(result)).toContain(`AIRLOCK_TOKEN is not set and ${home}/admin-token cannot be read`);
    expect(fake.requests).toEqual([]);
  });

  it('nothing listening: exit 125 with one line asking whether airlock serve runs', async () => {
    const port = await closedPort();
    const server = await startTestServer();
    const url = `http://127.0.0.1:${port}`;
    for (const args of [
      ['approvals', 'ls'],
      ['audit', 'verify'],
      ['sessions', 'rm', 'ses_x'],
      ['audit', 'export'],
    ]) {
      const result = await airlock([...args, '--url', url], server.home);
      expect(result.exitCode, args.join(' ')).toBe(125);
      expect(oneLineOf(result)).toBe(
        `airlock: cannot reach ${url}: is \`airlock serve\` running? (ECONNREFUSED)`,
      );
    }
  });

  it('a malformed --url, or --url with --config, is a usage error (exit 2) before anything is sent', async () => {
    const home = newHome();
    const cases = [
      'localhost:7400',
      'ftp://127.0.0.1:7400',
      'http://admin:pw@127.0.0.1:7400',
      'http://127.0.0.1:7400/?x=1',
      '',
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const url of cases) {
      const result = await airlock(['approvals', 'ls', '--url', url], home, {
        env: { AIRLOCK_TOKEN: 'alk_admin_x' },
      });
      expect(result.exitCode, url).toBe(2);
      expect(oneLineOf(result)).toMatch(
        /--url .* (is not an http\(s\) URL|must be the server's address only)/,
      );
    }
    const both = await airlock(
      ['audit', 'tail', '--url', 'http://127.0.0.1:7400', '--config', 'airlock.yaml'],
      home,
    );
    expect(both.exitCode).toBe(2);
    expect(oneLineOf(both)).toMatch(/--url and --config name two different control planes/);
  });

  it('something that is not Airlock answering: exit 125 saying so', async () => {
    const fake = await startFakeServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not Found</h1>');
    });
    const result = await airlock(['audit', 'verify', '--url', fake.url], newHome(), {
      env: { AIRLOCK_TOKEN: 'alk_admin_x' },
    });
    expect(result.exitCode).toBe(125);
    expect(oneLineOf(result)).toMatch(
      new RegExp(`${fake.url} did not answer like airlock serve: .*HTTP 404`),
    );
  });

  it('escapes a server message that tries to draw on the terminal (adversarial)', async () => {
    const fake = await startFakeServer((_request, response) => {
      response.writeHead(404, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: { code: 'NOT_FOUND', message: 'no approval \u001b]0;pwned\u0007\napproved apr_1 by you' },
        }),
      );
    });
    const result = await airlock(['approvals', 'approve', 'apr_1', '--url', fake.url], newHome(), {
      env: { AIRLOCK_TOKEN: 'alk_admin_x' },
    });
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    const line = oneLineOf(result);
    expect([...line].filter((char) => char.charCodeAt(0) < 0x20)).toEqual([]);
    expect(line).toMatch(/no approval .*pwned.*approved apr_1 by you/);
  });

  const external = Object.values(networkInterfaces())
    .flat()
    .find((address) => address?.family === 'IPv4' && !address.internal)?.address;

  it.skipIf(external === undefined)(
    "never sends this machine's token file to another address (adversarial)",
    async () => {
      const fake = await startFakeServer((_request, response) => response.end('{"approvals":[]}'), external);
      const server = await startTestServer();
      const result = await airlock(['approvals', 'ls', '--url', fake.url], server.home);
      expect(result.exitCode).toBe(125);
      expect(oneLineOf(result)).toMatch(
        /no admin token for .*: set AIRLOCK_TOKEN .* sent only to a server on this machine/,
      );
      expect(fake.requests).toEqual([]);
    },
  );
});
