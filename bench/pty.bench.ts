/**
 * Keystroke echo latency on a terminal in a sandbox: one byte typed into `cat` on a PTY the
 * supervisor made inside a bwrap sandbox, timed until the terminal's echo comes back out through
 * the supervisor channel; beside the same through a local `script` session on the host (util-linux),
 * measured in the same run; and end to end through the HTTP API's terminal WebSocket on 127.0.0.1
 * (what `airlock shell` and the SDK see), where an echo without a line break is released at once
 * unless it could be part of a secret still arriving (then once output has paused for
 * TERMINAL_SETTLE_MS, router/shape/watch.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { WebSocket } from 'ws';
import { createAirlock } from '../src/index.ts';
import { createDriver } from '../src/sandbox/index.ts';
import { createServer } from '../src/server/index.ts';
import type { ExecInput } from '../src/sandbox/index.ts';
import { benchSpec, formatMs, summarize } from './stats.ts';

export interface PtyBenchOptions {
  runs: number;
}

const WARMUP = 20;
/** Between keystrokes on the API's socket: 100 a second, under MAX_PTY_MESSAGES_PER_SECOND (200). */
const KEYSTROKE_GAP_MS = 10;

function report(label: string, samples: readonly number[]): void {
  const summary = summarize(samples);
  console.log(
    `  ${label.padEnd(52)} p50 ${formatMs(summary.p50Ms)} ms  p99 ${formatMs(summary.p99Ms)} ms  (n=${summary.n})`,
  );
}

/** Types one byte at a time, each after the previous one's echo, and times each echo. */
async function echoLatencies(
  runs: number,
  type: (byte: Buffer) => void,
  echoed: (count: number) => Promise<void>,
  gapMs = 0,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + runs; i += 1) {
    if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
    const started = performance.now();
    type(Buffer.from('x'));
    await echoed(i + 1);
    if (i >= WARMUP) samples.push(performance.now() - started);
  }
  return samples;
}

/** Resolves once `count()` reaches `target`; checked on each output chunk. */
function counter(): { add(chunk: Buffer): void; until(target: number): Promise<void> } {
  let seen = 0;
  let waiting: { target: number; resolve: () => void } | undefined;
  return {
    add(chunk) {
      for (const byte of chunk) if (byte === 0x78) seen += 1;
      if (waiting !== undefined && seen >= waiting.target) {
        const { resolve } = waiting;
        waiting = undefined;
        resolve();
      }
    },
    until(target) {
      if (seen >= target) return Promise.resolve();
      return new Promise((resolve) => {
        waiting = { target, resolve };
      });
    },
  };
}

async function sandboxSamples(runs: number): Promise<number[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-pty-bench-'));
  const driver = createDriver('bwrap', { stateDir });
  const sandbox = await driver.create(benchSpec);
  try {
    const echoes = counter();
    let input: ExecInput | undefined;
    const done = sandbox.exec('stty -icanon; cat >/dev/null', {
      timeoutMs: 600_000,
      stdoutTo: { write: (chunk) => (echoes.add(chunk), true), once: () => undefined },
      interactive: { pty: { cols: 80, rows: 24 }, attach: (given) => (input = given) },
    });
    while (input === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const attached = input;
    await new Promise((resolve) => setTimeout(resolve, 200));
    const samples = await echoLatencies(
      runs,
      (byte) => void attached.write(byte),
      (n) => echoes.until(n),
    );
    await attached.write(Buffer.from('\x03'));
    await done;
    return samples;
  } finally {
    await sandbox.destroy();
    await driver.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

async function websocketSamples(runs: number): Promise<number[]> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-pty-bench-'));
  const airlock = await createAirlock({
    crossCheck: false,
    home,
    env: { HOME: home },
    config: { policy: { preset: 'permissive' }, router: { rateLimit: '1000000/min' } },
  });
  const adminToken = 'bench-admin-token';
  const server = await createServer({ airlock, adminToken });
  try {
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    const auth = { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' };
    const created = (await (
      await fetch(`${url}/v1/sessions`, { method: 'POST', headers: auth, body: '{}' })
    ).json()) as { id: string };
    const started = (await (
      await fetch(`${url}/v1/sessions/${created.id}/commands`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          command: 'stty -icanon; cat >/dev/null',
          interactive: { pty: { cols: 80, rows: 24 } },
          timeoutMs: 600_000,
        }),
      })
    ).json()) as { id: string };
    const socket = new WebSocket(
      `${url.replace(/^http/, 'ws')}/v1/sessions/${created.id}/commands/${started.id}/pty`,
      ['airlock.pty.v1'],
      { headers: { authorization: `Bearer ${adminToken}` } },
    );
    const echoes = counter();
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) echoes.add(data);
    });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The API closes a terminal socket sent more than MAX_PTY_MESSAGES_PER_SECOND (a loop, not a
    // person): keystrokes go at a fast typist's pace, and a closed socket fails the bench at once.
    const closed = new Promise<never>((_resolve, reject) =>
      socket.once('close', (code) => reject(new Error(`the terminal socket closed (${code})`))),
    );
    closed.catch(() => undefined);
    const samples = await echoLatencies(
      runs,
      (byte) => socket.send(byte),
      (n) => Promise.race([echoes.until(n), closed]),
      KEYSTROKE_GAP_MS,
    );
    socket.close();
    return samples;
  } finally {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function scriptSamples(runs: number): Promise<number[]> {
  // The same program on a host terminal: script(1) allocates it and copies our bytes in and out.
  const child = spawn('script', ['-q', '-c', 'stty -icanon; cat >/dev/null', '/dev/null'], {
    shell: false,
    stdio: ['pipe', 'pipe', 'ignore'],
    env: { PATH: '/usr/bin:/bin', TERM: 'dumb' },
  });
  const echoes = counter();
  child.stdout.on('data', (chunk: Buffer) => echoes.add(chunk));
  await new Promise((resolve) => setTimeout(resolve, 200));
  try {
    return await echoLatencies(
      runs,
      (byte) => child.stdin.write(byte),
      (n) => echoes.until(n),
    );
  } finally {
    child.kill('SIGKILL');
  }
}

export async function runPtyBench(options: PtyBenchOptions): Promise<void> {
  console.log(`PTY keystroke echo (${options.runs} keystrokes after ${WARMUP} unmeasured)`);
  report('baseline: local `script` session on the host', await scriptSamples(options.runs));
  report('bwrap sandbox: PTY made by the supervisor', await sandboxSamples(options.runs));
  report('HTTP API WebSocket on 127.0.0.1 (bwrap, redacted live)', await websocketSamples(options.runs));
}
