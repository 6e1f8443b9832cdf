/**
 * A cluster node as a user runs it: `airlock serve` in its own process (bin/airlock.js), its own
 * AIRLOCK_HOME, on 127.0.0.1 and a free port, against a shared PostgreSQL store. Stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(import.meta.dirname, '..', '..');
const NODE = join(ROOT, 'node_modules', '.bin', 'node');
const BIN = join(ROOT, 'bin', 'airlock.js');

export const ADMIN_TOKEN = `admin-${'c'.repeat(40)}`;

export interface ClusterProcess {
  readonly nodeId: string;
  readonly url: string;
  readonly pid: number;
  readonly home: string;
  readonly configPath: string;
  /** What the node wrote on stderr so far (its log), for failure messages. */
  stderr(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** The shared secret file every node reads (mode 0600, 32 random-looking bytes). */
export function clusterSecretFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-cluster-secret-'));
  const path = join(dir, 'secret');
  writeFileSync(path, randomBytes(32).toString('base64'), { mode: 0o600 });
  return path;
}

export interface NodeSettings {
  readonly nodeId: string;
  readonly storeUrl: string;
  readonly secretFile: string;
  /** Extra airlock.yaml text appended after the cluster section. */
  readonly extraYaml?: string;
}

export async function startNode(settings: NodeSettings): Promise<ClusterProcess> {
  const home = mkdtempSync(join(tmpdir(), `airlock-${settings.nodeId}-`));
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const configPath = join(home, 'airlock.yaml');
  writeFileSync(
    configPath,
    [
      `store: ${settings.storeUrl}`,
      'cluster:',
      `  nodeId: ${settings.nodeId}`,
      `  secretFile: ${settings.secretFile}`,
      '  heartbeatInterval: 250ms',
      '  failureTimeout: 2s',
      settings.extraYaml ?? '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(NODE, [BIN, 'serve', '--port', '0', '--config', configPath], {
    cwd: home,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      AIRLOCK_HOME: home,
      AIRLOCK_TOKEN: ADMIN_TOKEN,
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${settings.nodeId} did not start:\n${log}`)), 60_000);
    lines.on('line', (line) => {
      const match = /listening on (http:\/\/\S+)/.exec(line);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${settings.nodeId} exited with ${code}:\n${log}`));
    });
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('no pid');
  return {
    nodeId: settings.nodeId,
    url,
    pid,
    home,
    configPath,
    stderr: () => log,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      process.kill(pid, signal);
      await exited;
    },
  };
}

/** One API call as a client makes it, with the admin token unless another is given. */
export async function call(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token: string = ADMIN_TOKEN,
): Promise<{ status: number; node: string | null; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    node: response.headers.get('x-airlock-node'),
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
  };
}
