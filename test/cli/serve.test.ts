/**
 * `airlock serve` as a user starts it: its own process, a state directory, Ctrl-C / SIGTERM to stop.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import { hostProcessesMatching } from '../containment/containment-suite.ts';
import { eventually } from '../control-plane/support.ts';
import { closeAfterTest, envFor, newHome, startCli } from './cli-process.ts';

function urlOf(stdout: string): string {
  const match = /listening on (http:\/\/\S+)/.exec(stdout);
  if (match?.[1] === undefined) throw new Error(`no URL in:\n${stdout}`);
  return match[1];
}

describe('airlock serve', () => {
  it("is the README Quickstart's main command: npm start serves in a fresh checkout", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const quickstart = readme.slice(readme.indexOf('## Quickstart'));
    expect(/```sh\n(.*)\n/.exec(quickstart)?.[1]).toBe('scripts/setup.sh && npm start');
    // npm puts node_modules/.bin on a script's PATH but not the package's own bin: run it for real.
    const home = newHome();
    const npmStart = spawn('npm', ['start', '--', '--port', '0'], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...envFor(home), PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    npmStart.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    npmStart.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<void>((done) => npmStart.once('exit', () => done()));
    let url: string | undefined;
    try {
      expect(await eventually(() => /Press Ctrl-C to stop/.test(output), 30_000)).toBe(true);
      url = urlOf(output);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
    } finally {
      // As a supervisor stops it (docker stop, systemd): SIGTERM to npm alone, not to its group.
      npmStart.kill('SIGTERM');
      await exited;
    }
    expect(output).not.toMatch(/not found/);
    // The server went with npm, stopping gracefully: not left running, orphaned, without its npm.
    expect(output).toMatch(/airlock: stopped: every session ended, the store closed/);
    await expect(fetch(`${url ?? 'http://127.0.0.1:1'}/healthz`)).rejects.toThrow();
  });

  it('prints its URL and token file, serves the API, and stops cleanly on SIGTERM', async () => {
    const home = newHome();
    const server = startCli(['serve', '--port', '0'], home);
    await server.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    const url = urlOf(server.stdout());
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const tokenPath = join(home, 'admin-token');
    expect(server.stdout()).toContain(tokenPath);
    // Only the owner may read a token that grants every session.
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenPath, 'utf8').trim();

    const created = await fetch(`${url}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(created.status).toBe(201);
    const session = (await created.json()) as { id: string; token: string };
    // A duration no other test uses, so the host's process list tells whether the sandbox survived.
    const marker = '331.5';
    const started = await fetch(`${url}/v1/sessions/${session.id}/commands`, {
      method: 'POST',
      headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: `sleep ${marker}`, wait: false }),
    });
    expect(((await started.json()) as { status: string }).status).toBe('running');
    expect(await eventually(() => hostProcessesMatching(`sleep ${marker}`).length > 0)).toBe(true);

    server.child.kill('SIGTERM');
    const exited = await server.exited;
    expect(exited.exitCode).toBe(0);
    expect(exited.stderr).toMatch(/stopping/);
    expect(exited.stderr).toMatch(/airlock: stopped: every session ended, the store closed/);
    expect(hostProcessesMatching(`sleep ${marker}`)).toEqual([]);

    // The store says what happened: the session ended at shutdown, the command was killed, nothing lost.
    const airlock = await createAirlock({ home, env: { HOME: home }, crossCheck: false });
    closeAfterTest(airlock);
    expect(airlock.recovery.sessionsEnded).toBe(0);
    expect(await airlock.sessions.info(session.id)).toMatchObject({
      state: 'ended',
      endReason: 'the control plane shut down',
    });
    expect(await airlock.audit.verify()).toMatchObject({ ok: true });
  });

  it('keeps the same admin token across restarts', async () => {
    const home = newHome();
    const first = startCli(['serve', '--port', '0'], home);
    await first.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    const token = readFileSync(join(home, 'admin-token'), 'utf8');
    first.child.kill('SIGINT');
    expect((await first.exited).exitCode).toBe(0);
    const second = startCli(['serve', '--port', '0'], home);
    await second.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    expect(readFileSync(join(home, 'admin-token'), 'utf8')).toBe(token);
    second.child.kill('SIGINT');
    expect((await second.exited).exitCode).toBe(0);
  });

  it('takes one Ctrl-C delivered twice (terminal and wrapper) as one, and still stops gracefully', async () => {
    const home = newHome();
    const server = startCli(['serve', '--port', '0'], home);
    await server.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    server.child.kill('SIGINT');
    server.child.kill('SIGINT');
    const exited = await server.exited;
    expect(exited.exitCode).toBe(0);
    expect(exited.stderr).not.toMatch(/stopping at once/);
  });

  it('warns when bound beyond loopback, and serves the configured allow-list without a warning about it', async () => {
    const home = newHome();
    writeFileSync(join(home, 'airlock.yaml'), 'sandbox:\n  network: { allow: [api.example.com] }\n');
    const server = startCli(['serve', '--host', '0.0.0.0', '--port', '0'], home);
    await server.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    server.child.kill('SIGTERM');
    const exited = await server.exited;
    expect(exited.stderr).toMatch(/warning: listening on 0\.0\.0\.0: the API is reachable from the network/);
    // The egress proxy enforces allow-lists: nothing says otherwise.
    expect(exited.stderr).not.toMatch(/not implemented|not enforced/);
  });

  it('refuses a port in use with one line and exit status 2', async () => {
    const home = newHome();
    const first = startCli(['serve', '--port', '0'], home);
    await first.waitForOutput(/Press Ctrl-C to stop/, 20_000);
    const port = new URL(urlOf(first.stdout())).port;
    const second = startCli(['serve', '--port', port], newHome());
    const exited = await second.exited;
    expect(exited.exitCode).toBe(2);
    expect(exited.stderr.trim().split('\n')).toEqual([expect.stringMatching(/port is in use/)]);
    first.child.kill('SIGTERM');
    await first.exited;
  });
});
