/**
 * Several control planes on one PostgreSQL against one control plane on SQLite, same run, same load:
 * 150 sessions, each running `sleep 0.1` (a command of at least 100 ms) a few times, all sessions at
 * once, over the HTTP API. Printed: commands/s and p50/p99 latency per command for each setup.
 *
 * Every `airlock serve` here runs on this one machine, so the nodes share its cores: the cluster's
 * figure shows the cost of the shared store and of forwarding, not the capacity of three machines.
 * Commands are sent to the nodes in turn, as a load balancer would, so two in three are forwarded.
 *
 * To show where the time goes, each setup also prints how busy the machine's cores were (from
 * /proc/stat, every process on the machine counted) and the core time one command took: when one node
 * already keeps every core busy, more nodes on the same cores cannot run more commands, and the ratio
 * to reach on three machines is then bounded by the core time per command on each setup. One node on
 * PostgreSQL separates the cost of the store from the cost of the nodes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../test/support/postgres.ts';
import { formatMs, summarize } from './stats.ts';

export interface ClusterBenchOptions {
  readonly sessions: number;
  readonly commandsPerSession: number;
}

const bin = fileURLToPath(new URL('../bin/airlock.js', import.meta.url));
const TOKEN = `bench-${randomBytes(16).toString('hex')}`;
const COMMAND = 'sleep 0.1';

function configYaml(sessions: number, extra: string): string {
  return `sandbox:
  memory: 128m
  cpus: 0.5
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

interface Serve {
  readonly url: string;
  readonly child: ChildProcess;
  readonly home: string;
}

async function startServe(yaml: string): Promise<Serve> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-bench-cluster-'));
  writeFileSync(join(home, 'airlock.yaml'), yaml);
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--config', join(home, 'airlock.yaml')],
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
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (text) => {
      const match = /listening on (http:\/\/\S+)/.exec(text);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`airlock serve exited with ${code}`)));
  });
  return { url, child, home };
}

async function stop(serve: Serve): Promise<void> {
  if (serve.child.exitCode === null && serve.child.pid !== undefined) {
    const exited = once(serve.child, 'exit');
    process.kill(serve.child.pid, 'SIGTERM');
    await exited;
  }
  rmSync(serve.home, { recursive: true, force: true });
}

async function post(
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

interface LoadResult {
  readonly commandsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly commands: number;
  /** Share of the machine's core time that was busy during the run; null without /proc/stat. */
  readonly busy: number | null;
  /** Busy core-milliseconds per command (every process on the machine counted). */
  readonly coreMsPerCommand: number | null;
}

/** Busy and total jiffies of all cores so far, or null where /proc/stat does not exist. */
function cpuTicks(): { busy: number; total: number } | null {
  if (!existsSync('/proc/stat')) return null;
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** Creates the sessions (through the first URL), then runs every session's commands at once. */
async function runLoad(urls: readonly string[], options: ClusterBenchOptions): Promise<LoadResult> {
  const sessions: { id: string; token: string }[] = [];
  for (let i = 0; i < options.sessions; i++) {
    const created = await post(urls[0] ?? '', '/v1/sessions', {});
    sessions.push({ id: String(created['id']), token: String(created['token']) });
  }
  const latencies: number[] = [];
  let turn = 0;
  const ticksBefore = cpuTicks();
  const started = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      for (let i = 0; i < options.commandsPerSession; i++) {
        const base = urls[turn++ % urls.length] ?? '';
        const sent = performance.now();
        const result = await post(
          base,
          `/v1/sessions/${session.id}/commands`,
          { command: COMMAND },
          session.token,
        );
        if (result['status'] !== 'completed') throw new Error(`command ${JSON.stringify(result)}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const ticksAfter = cpuTicks();
  const summary = summarize(latencies);
  const used =
    ticksBefore === null || ticksAfter === null
      ? null
      : {
          busy: ticksAfter.busy - ticksBefore.busy,
          total: ticksAfter.total - ticksBefore.total,
        };
  return {
    commandsPerS: latencies.length / wallS,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    commands: latencies.length,
    busy: used === null || used.total === 0 ? null : used.busy / used.total,
    // Jiffies are 1/100 s on Linux (USER_HZ).
    coreMsPerCommand: used === null ? null : (used.busy * 10) / latencies.length,
  };
}

function report(label: string, result: LoadResult): void {
  console.log(
    `  ${label.padEnd(40)} ${result.commandsPerS.toFixed(1).padStart(7)} commands/s  ` +
      `p50 ${formatMs(result.p50Ms)} ms  p99 ${formatMs(result.p99Ms)} ms  (${result.commands} commands)` +
      (result.busy === null || result.coreMsPerCommand === null
        ? ''
        : `  cores ${(result.busy * 100).toFixed(0)}% busy, ${result.coreMsPerCommand.toFixed(0)} core-ms/command`),
  );
}

async function withCluster<T>(
  nodeIds: readonly string[],
  options: ClusterBenchOptions,
  work: (urls: string[]) => Promise<T>,
): Promise<T> {
  const postgres = await startPostgres({ durable: true });
  const secretDir = mkdtempSync(join(tmpdir(), 'airlock-bench-secret-'));
  const secretFile = join(secretDir, 'secret');
  writeFileSync(secretFile, randomBytes(32).toString('base64'), { mode: 0o600 });
  const nodes: Serve[] = [];
  try {
    const url = await postgres.createDatabase('bench');
    const perNode = Math.ceil(options.sessions / nodeIds.length);
    for (const nodeId of nodeIds) {
      // Nodes and 150 sandboxes on one machine's cores delay heartbeats: a generous failure timeout
      // keeps an overloaded node from being declared lost mid-run.
      const cluster =
        `store: ${url}\ncluster:\n  nodeId: ${nodeId}\n  secretFile: ${secretFile}\n` +
        '  heartbeatInterval: 1s\n  failureTimeout: 60s\n';
      nodes.push(await startServe(configYaml(perNode, cluster)));
    }
    return await work(nodes.map((node) => node.url));
  } finally {
    for (const node of nodes) await stop(node);
    await postgres.destroy();
    rmSync(secretDir, { recursive: true, force: true });
  }
}

export async function runClusterBench(options: ClusterBenchOptions): Promise<void> {
  console.log(
    `Cluster: ${options.sessions} sessions at once, ${options.commandsPerSession} × \`${COMMAND}\` each, over HTTP, ` +
      `all on this machine's ${cpus().length} cores`,
  );
  // Baseline: one control plane on SQLite, as a single machine runs it.
  const single = await startServe(configYaml(options.sessions, ''));
  let baseline: LoadResult;
  try {
    baseline = await runLoad([single.url], options);
  } finally {
    await stop(single);
  }
  report('one node, SQLite (baseline)', baseline);
  const onePg = await withCluster(['bench-a'], options, (urls) => runLoad(urls, options));
  report('one node, PostgreSQL', onePg);
  const clustered = await withCluster(['bench-a', 'bench-b', 'bench-c'], options, (urls) =>
    runLoad(urls, options),
  );
  report('three nodes, one PostgreSQL', clustered);
  console.log(
    `  throughput ratio (three nodes / one node)  ${(clustered.commandsPerS / baseline.commandsPerS).toFixed(2)}×` +
      '  (all on this one machine: not the capacity of three)',
  );
  if (clustered.coreMsPerCommand !== null && baseline.coreMsPerCommand !== null) {
    // Three machines each as busy as this one: each runs commands at its cores' pace, per command cost.
    const bound = (3 * baseline.coreMsPerCommand) / clustered.coreMsPerCommand;
    console.log(
      `  three machines could reach about ${bound.toFixed(2)}× at these core-ms per command ` +
        '(three times the cores, each command costing what it cost here); the target is 2.5×',
    );
  }
}
