/**
 * End to end through the surfaces agents use: `echo hi` over the HTTP API (the SDK) and over MCP
 * (streamable HTTP and stdio), and 50 sessions at once over HTTP, each beside a bare sandbox exec
 * measured in the same run. The server runs as `airlock serve` in its own process, as users run it.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createDriver } from '../src/sandbox/index.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import { AirlockClient } from '../src/sdk/index.ts';
import type { SandboxSession } from '../src/sdk/index.ts';
import { benchSpec, formatMs, summarize, timeRuns } from './stats.ts';
import type { Summary } from './stats.ts';

export interface ApiBenchOptions {
  runs: number;
}

const WARMUP_RUNS = 10;
const PARALLEL_SESSIONS = 50;
const COMMANDS_PER_SESSION = 10;
const bin = fileURLToPath(new URL('../bin/airlock.js', import.meta.url));

/** Out of the way of the measurement: no person to ask, no rate limit to hit, room for 50 sessions. */
const configYaml = `sandbox:
  memory: 256m
  cpus: 1
  pids: 64
  scratch: 64m
router:
  approvalRequiredFor: []
  rateLimit: 1000000/min
sessions:
  max: ${PARALLEL_SESSIONS + 5}
server:
  rateLimit: 1000000/min
`;

function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(46)} ${value}`);
}

function figures(summary: Summary): string {
  return `p50 ${formatMs(summary.p50Ms)} ms  p99 ${formatMs(summary.p99Ms)} ms`;
}

async function startServe(home: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [bin, 'serve', '--port', '0'], {
    cwd: home,
    env: { HOME: home, AIRLOCK_HOME: home, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
    printed += chunk.toString('utf8');
    const match = /listening on (http:\/\/\S+)/.exec(printed);
    if (match?.[1] !== undefined && printed.includes('Press Ctrl-C')) return { child, url: match[1] };
  }
  throw new Error(`airlock serve exited before listening:\n${printed}`);
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function mcpEcho(client: Client): Promise<void> {
  const result = (await client.callTool({ name: 'run_command', arguments: { command: 'echo hi' } })) as {
    structuredContent?: { status?: string };
  };
  if (result.structuredContent?.status !== 'completed')
    throw new Error('api bench: MCP echo did not complete');
}

async function parallelRate(run: (index: number) => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: PARALLEL_SESSIONS }, (_, index) => run(index)));
  return (PARALLEL_SESSIONS * COMMANDS_PER_SESSION) / ((performance.now() - startedAt) / 1000);
}

export async function runApiBench(options: ApiBenchOptions): Promise<void> {
  const { runs } = options;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-api-bench-'));
  const home = join(dir, 'serve');
  const stdioHome = join(dir, 'stdio');
  const driver = createDriver('bwrap', { stateDir: join(dir, 'bare') });
  const bare: Sandbox[] = [];
  let serve: ChildProcess | null = null;
  const clients: Client[] = [];
  try {
    // Each surface gets its own state directory (the stdio server is a second control plane).
    for (const path of [home, stdioHome]) {
      mkdirSync(path);
      writeFileSync(join(path, 'airlock.yaml'), configYaml);
    }

    console.log(`API bench (${runs} runs; warm sessions; airlock serve in its own process)`);
    const sandbox = await driver.create(benchSpec);
    bare.push(sandbox);
    const bareEcho = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const result = await sandbox.exec('echo hi');
        result.stdoutStream.discard();
        result.stderrStream.discard();
      }),
    );

    const started = await startServe(home);
    serve = started.child;
    const token = readFileSync(join(home, 'admin-token'), 'utf8').trim();
    const client = new AirlockClient({ url: started.url, token });
    const session = await client.sessions.create();
    const http = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const result = await session.run('echo hi');
        if (result.status !== 'completed') throw new Error(`api bench: ${result.forModel}`);
      }),
    );

    const mcpHttp = new Client({ name: 'airlock-bench', version: '0.0.0' });
    clients.push(mcpHttp);
    await mcpHttp.connect(
      new StreamableHTTPClientTransport(new URL(`${started.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${token}` } },
      }),
    );
    const mcpOverHttp = summarize(await timeRuns(runs, WARMUP_RUNS, () => mcpEcho(mcpHttp)));

    const mcpStdio = new Client({ name: 'airlock-bench', version: '0.0.0' });
    clients.push(mcpStdio);
    await mcpStdio.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [bin, 'mcp'],
        cwd: stdioHome,
        env: { HOME: stdioHome, AIRLOCK_HOME: stdioHome, NO_COLOR: '1' },
        stderr: 'ignore',
      }),
    );
    const mcpOverStdio = summarize(await timeRuns(runs, WARMUP_RUNS, () => mcpEcho(mcpStdio)));

    line('bare sandbox exec `echo hi` (baseline)', figures(bareEcho));
    line('HTTP API: session.run(`echo hi`) via the SDK', figures(http));
    line('MCP run_command over streamable HTTP', figures(mcpOverHttp));
    line('MCP run_command over stdio (airlock mcp)', figures(mcpOverStdio));
    line('HTTP overhead over bare', `p50 +${formatMs(http.p50Ms - bareEcho.p50Ms)} ms`);

    for (let index = bare.length; index < PARALLEL_SESSIONS; index += 1)
      bare.push(await driver.create(benchSpec));
    const bareRate = await parallelRate(async (index) => {
      const target = bare[index] as Sandbox;
      for (let i = 0; i < COMMANDS_PER_SESSION; i += 1) {
        const result = await target.exec('echo hi');
        result.stdoutStream.discard();
        result.stderrStream.discard();
      }
    });
    const sessions: SandboxSession[] = [session];
    while (sessions.length < PARALLEL_SESSIONS) sessions.push(await client.sessions.create());
    const httpRate = await parallelRate(async (index) => {
      const target = sessions[index] as SandboxSession;
      for (let i = 0; i < COMMANDS_PER_SESSION; i += 1) {
        const result = await target.run('echo hi');
        if (result.status !== 'completed') throw new Error(`api bench: ${result.forModel}`);
      }
    });
    line(`${PARALLEL_SESSIONS} bare sandboxes in parallel (baseline)`, `${bareRate.toFixed(0)} commands/s`);
    line(`${PARALLEL_SESSIONS} sessions in parallel over HTTP`, `${httpRate.toFixed(0)} commands/s`);
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
    if (serve !== null) await stop(serve);
    await Promise.allSettled(bare.map((sandbox) => sandbox.destroy()));
    await driver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
