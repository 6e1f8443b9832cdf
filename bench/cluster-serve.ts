/**
 * `airlock serve` processes for the cluster bench: one node on SQLite, or several nodes on one
 * throw-away PostgreSQL, each started from its own home directory and stopped by its PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres, type PostgresCluster } from '../test/support/postgres.ts';

const bin = fileURLToPath(new URL('../bin/airlock.js', import.meta.url));
export const TOKEN = `bench-${randomBytes(16).toString('hex')}`;

export interface ServeOptions {
  /** `sandbox.cgroupParent`: where the node puts its sandboxes' cgroups. */
  readonly cgroupParent?: string;
  /**
   * `sandbox.cpus`, 0.5 unless given. Under a parent with a CPU quota it must not exceed the
   * parent's: cgroup v1 refuses a child quota above its parent's.
   */
  readonly sandboxCpus?: number;
  /**
   * Called with the PID as soon as the process exists, before it has started a sandbox: the emulated
   * machines move it into its CPU budget here, so everything it spawns inherits the budget.
   */
  readonly onSpawn?: (pid: number) => void;
  /** Options for node itself before the script (`--cpu-prof`, to profile a node under the load). */
  readonly nodeArgs?: readonly string[];
}

export function configYaml(sessions: number, extra: string, options: ServeOptions = {}): string {
  const { cgroupParent, sandboxCpus = 0.5 } = options;
  return `sandbox:${cgroupParent === undefined ? '' : `\n  cgroupParent: ${cgroupParent}`}
  memory: 128m
  cpus: ${sandboxCpus}
  pids: 32
  scratch: 16m
router:
  approvalRequiredFor: []
  rateLimit: 1000000/min
sessions:
  max: ${sessions + 5}
server:
  rateLimit: 1000000/min
${extra}`;
}

export interface Serve {
  readonly url: string;
  readonly child: ChildProcess;
  readonly home: string;
}

export async function startServe(
  yaml: string,
  onSpawn?: ServeOptions['onSpawn'],
  nodeArgs: readonly string[] = [],
): Promise<Serve> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-bench-cluster-'));
  writeFileSync(join(home, 'airlock.yaml'), yaml);
  const child = spawn(
    process.execPath,
    [...nodeArgs, bin, 'serve', '--port', '0', '--config', join(home, 'airlock.yaml')],
    {
      cwd: home,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: home,
        AIRLOCK_HOME: home,
        AIRLOCK_TOKEN: TOKEN,
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const serve = { child, home };
  try {
    if (onSpawn !== undefined) {
      if (child.pid === undefined) throw new Error('airlock serve did not start');
      onSpawn(child.pid);
    }
    const lines = createInterface({ input: child.stdout! });
    const url = await new Promise<string>((resolve, reject) => {
      lines.on('line', (text) => {
        const match = /listening on (http:\/\/\S+)/.exec(text);
        if (match?.[1] !== undefined) resolve(match[1]);
      });
      child.once('exit', (code) => reject(new Error(`airlock serve exited with ${code}`)));
    });
    return { url, ...serve };
  } catch (error) {
    await stop({ url: '', ...serve });
    throw error;
  }
}

export async function stop(serve: Serve): Promise<void> {
  if (serve.child.exitCode === null && serve.child.pid !== undefined) {
    const exited = once(serve.child, 'exit');
    process.kill(serve.child.pid, 'SIGTERM');
    await exited;
  }
  rmSync(serve.home, { recursive: true, force: true });
}

export async function post(
  base: string,
  path: string,
  body: unknown,
  token = TOKEN,
): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

export interface CreatedSession {
  readonly id: string;
  readonly token: string;
  /** The cluster node that runs it (its answer's x-airlock-node header), null outside a cluster. */
  readonly node: string | null;
}

export async function createSession(base: string): Promise<CreatedSession> {
  const response = await fetch(`${base}/v1/sessions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: '{}',
  });
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`/v1/sessions: ${response.status} ${JSON.stringify(answer)}`);
  return {
    id: String(answer['id']),
    token: String(answer['token']),
    node: response.headers.get('x-airlock-node'),
  };
}

/** One node on SQLite, stopped after `work`. */
export async function withSingle<T>(
  sessions: number,
  options: ServeOptions,
  work: (urls: string[]) => Promise<T>,
): Promise<T> {
  const single = await startServe(configYaml(sessions, '', options), options.onSpawn);
  try {
    return await work([single.url]);
  } finally {
    await stop(single);
  }
}

/** Nodes on one fresh PostgreSQL; `nodeOptions` gives each node its extra configuration. */
export async function withCluster<T>(
  nodeIds: readonly string[],
  sessions: number,
  nodeOptions: (nodeId: string) => ServeOptions,
  work: (urls: string[], postgres: PostgresCluster, nodes: readonly Serve[]) => Promise<T>,
): Promise<T> {
  const postgres = await startPostgres({ durable: true });
  const secretDir = mkdtempSync(join(tmpdir(), 'airlock-bench-secret-'));
  const secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const nodes: Serve[] = [];
  try {
    const url = await postgres.createDatabase('bench');
    const perNode = Math.ceil(sessions / nodeIds.length);
    for (const nodeId of nodeIds) {
      // Nodes and 150 sandboxes on one machine's cores delay heartbeats: a generous failure timeout
      // keeps an overloaded node from being declared lost mid-run.
      const cluster =
        `store: ${url}\ncluster:\n  nodeId: ${nodeId}\n  secretFile: ${secretFile}\n` +
        '  heartbeatInterval: 1s\n  failureTimeout: 60s\n';
      const options = nodeOptions(nodeId);
      nodes.push(await startServe(configYaml(perNode, cluster, options), options.onSpawn, options.nodeArgs));
    }
    return await work(
      nodes.map((node) => node.url),
      postgres,
      nodes,
    );
  } finally {
    for (const node of nodes) await stop(node);
    await postgres.destroy();
    rmSync(secretDir, { recursive: true, force: true });
  }
}
