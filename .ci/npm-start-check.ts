// The README's first Quickstart command, run as a newcomer would after `scripts/setup.sh`:
// `npm start` in the checkout. Checks that the server comes up, answers /healthz, creates a session,
// runs one command through the HTTP API and stops cleanly on Ctrl-C (SIGINT to the process group, as
// a terminal sends it). Exits non-zero with the server's output on any failure.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const home = mkdtempSync(join(tmpdir(), 'airlock-npm-start-'));
const startTimeoutMs = 60_000;

const server = spawn('npm', ['start'], {
  cwd: root,
  env: { ...process.env, AIRLOCK_HOME: home },
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true,
});
let output = '';
server.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
server.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
const exited = new Promise<string>((done) =>
  server.once('exit', (code, signal) => done(signal ?? `exit ${code}`)),
);

function fail(message: string): never {
  process.stderr.write(`npm start check: ${message}\n--- npm start output ---\n${output}\n`);
  try {
    process.kill(-(server.pid ?? 0), 'SIGKILL');
  } catch {
    // Already gone.
  }
  rmSync(home, { recursive: true, force: true });
  process.exit(1);
}

async function waitForUrl(): Promise<string> {
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    const match = /Airlock listening on (http:\/\/\S+)/.exec(output);
    if (match?.[1] !== undefined) return match[1];
    if (server.exitCode !== null) fail(`npm start exited with ${server.exitCode} before serving`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return fail(`no "Airlock listening on" within ${startTimeoutMs / 1000} s`);
}

async function call(url: string, token: string, method: string, body?: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) fail(`${method} ${url} answered ${response.status}: ${text}`);
  return JSON.parse(text) as unknown;
}

const url = await waitForUrl();
const health = await fetch(`${url}/healthz`);
if (!health.ok) fail(`/healthz answered ${health.status}`);
const adminToken = readFileSync(join(home, 'admin-token'), 'utf8').trim();
const session = (await call(`${url}/v1/sessions`, adminToken, 'POST', {})) as { id: string; token: string };
const result = (await call(`${url}/v1/sessions/${session.id}/commands`, session.token, 'POST', {
  command: 'echo hello from the sandbox',
})) as { status: string; exitCode: number | null; stdout: string };
if (result.status !== 'completed' || result.exitCode !== 0 || result.stdout !== 'hello from the sandbox\n') {
  fail(`the command's result was ${JSON.stringify(result)}`);
}
process.kill(-(server.pid ?? 0), 'SIGINT');
const code = await Promise.race([
  exited,
  new Promise<string>((r) => setTimeout(() => r('no exit within 30 s'), 30_000)),
]);
// npm passes Ctrl-C on to the server, waits for it, then ends itself by the same signal.
if (code !== 'exit 0' && code !== 'SIGINT') fail(`npm start did not stop on Ctrl-C (${code})`);
if (!output.includes('airlock: stopped: every session ended, the store closed')) {
  fail('the server did not report a clean stop');
}
try {
  process.kill(-(server.pid ?? 0), 0);
  fail('a process of npm start is still running after it stopped');
} catch {
  // ESRCH: the whole process group is gone.
}
rmSync(home, { recursive: true, force: true });
process.stdout.write(
  `npm start check: served ${url}, ran a command in session ${session.id}, stopped cleanly\n`,
);
