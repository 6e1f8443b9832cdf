/**
 * The control plane's cost over a bare sandbox exec: per command (policy, store writes, shaping,
 * redaction) and under load (50 sessions at once), with the bare figures measured in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAirlock } from '../src/index.ts';
import { createDriver } from '../src/sandbox/index.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import { openSqliteStore } from '../src/store/index.ts';
import type { CommandRecord } from '../src/store/index.ts';
import { benchSpec, formatMs, summarize, timeRuns } from './stats.ts';

export interface RouterBenchOptions {
  runs: number;
}

const WARMUP_RUNS = 10;
const PARALLEL_SESSIONS = 50;
const COMMANDS_PER_SESSION = 10;

const spec = benchSpec;

function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(46)} ${value}`);
}

async function parallelThroughput(count: number, run: (index: number) => Promise<void>): Promise<number> {
  const startedAt = performance.now();
  await Promise.all(Array.from({ length: count }, (_, index) => run(index)));
  return (count * COMMANDS_PER_SESSION) / ((performance.now() - startedAt) / 1000);
}

/** The store writes one allowed command costs the router. */
async function auditCostPerCommand(dir: string, runs: number): Promise<number[]> {
  const store = openSqliteStore({ path: join(dir, 'audit-bench.db') });
  const sessionId = 'ses_000000000000000000000000';
  const at = new Date().toISOString();
  await store.commit({
    sessions: [
      {
        id: sessionId,
        state: 'active',
        driver: 'bwrap',
        sandboxId: 'bench',
        spec: {},
        owner: 'bench',
        createdAt: at,
        lastActiveAt: at,
        expiresAt: null,
        endedAt: null,
        endReason: null,
      },
    ],
  });
  let n = 0;
  const samples = await timeRuns(runs, WARMUP_RUNS, async () => {
    n += 1;
    const id = `cmd_${n.toString(16).padStart(24, '0')}`;
    const record: CommandRecord = {
      id,
      sessionId,
      command: 'true',
      state: 'proposed',
      background: false,
      decision: 'allow',
      reasons: [],
      approvalId: null,
      exitCode: null,
      signal: null,
      outputId: null,
      createdAt: at,
      startedAt: null,
      finishedAt: null,
      durationMs: null,
    };
    // As the router writes an allowed command: intent and start together, then the result.
    await store.commit({
      commands: [{ ...record, state: 'running', startedAt: at }],
      events: [
        { type: 'command.proposed', sessionId, commandId: id, data: { command: 'true' } },
        { type: 'command.decided', sessionId, commandId: id, data: { decision: 'allow', ruleIds: [] } },
        { type: 'execution.started', sessionId, commandId: id, data: { driver: 'bwrap' } },
      ],
    });
    await store.commit({
      commands: [{ ...record, state: 'completed', exitCode: 0, finishedAt: at, durationMs: 1 }],
      events: [
        { type: 'execution.finished', sessionId, commandId: id, data: { status: 'completed', exitCode: 0 } },
      ],
    });
  });
  await store.close();
  return samples;
}

export async function runRouterBench(options: RouterBenchOptions): Promise<void> {
  const { runs } = options;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-router-bench-'));
  const driver = createDriver('bwrap', { stateDir: join(dir, 'bare') });
  const airlock = await createAirlock({
    home: join(dir, 'home'),
    env: { HOME: dir },
    // The bench measures the pipeline, not the rate limit or a person.
    config: { router: { rateLimit: '1000000/min', approvalRequiredFor: [] } },
    maxSessions: PARALLEL_SESSIONS + 1,
  });
  const bare: Sandbox[] = [];
  try {
    console.log(`Router bench (${runs} runs; warm sandboxes; store on ${dir}, synchronous=FULL)`);
    const sandbox = await driver.create(spec);
    bare.push(sandbox);
    const bareSamples = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const result = await sandbox.exec('true');
        result.stdoutStream.discard();
        result.stderrStream.discard();
      }),
    );
    const session = await airlock.sessions.create({ memoryBytes: spec.memoryBytes, cpus: 1, pids: 64 });
    const routed = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const result = await session.run('true');
        if (result.status !== 'completed') throw new Error(`router bench: ${result.forModel}`);
      }),
    );
    const audit = summarize(await auditCostPerCommand(dir, runs));
    line(
      'bare sandbox exec `true` (baseline)',
      `p50 ${formatMs(bareSamples.p50Ms)} ms  p99 ${formatMs(bareSamples.p99Ms)} ms`,
    );
    line(
      'session.run(`true`) through the router',
      `p50 ${formatMs(routed.p50Ms)} ms  p99 ${formatMs(routed.p99Ms)} ms`,
    );
    line(
      'router overhead',
      `p50 +${formatMs(routed.p50Ms - bareSamples.p50Ms)} ms  p99 +${formatMs(routed.p99Ms - bareSamples.p99Ms)} ms`,
    );
    line(
      'audit writes per command (2 synced commits)',
      `p50 ${formatMs(audit.p50Ms)} ms  p99 ${formatMs(audit.p99Ms)} ms`,
    );

    for (let i = bare.length; i < PARALLEL_SESSIONS; i += 1) bare.push(await driver.create(spec));
    const bareRate = await parallelThroughput(PARALLEL_SESSIONS, async (index) => {
      const target = bare[index] as Sandbox;
      for (let i = 0; i < COMMANDS_PER_SESSION; i += 1) {
        const result = await target.exec('true');
        result.stdoutStream.discard();
        result.stderrStream.discard();
      }
    });
    const sessions = [session];
    for (let i = 1; i < PARALLEL_SESSIONS; i += 1) {
      sessions.push(await airlock.sessions.create({ memoryBytes: spec.memoryBytes, cpus: 1, pids: 64 }));
    }
    const routedRate = await parallelThroughput(PARALLEL_SESSIONS, async (index) => {
      const target = sessions[index];
      for (let i = 0; i < COMMANDS_PER_SESSION; i += 1) {
        const result = await target?.run('true');
        if (result?.status !== 'completed') throw new Error(`router bench: ${result?.forModel}`);
      }
    });
    line(`${PARALLEL_SESSIONS} bare sandboxes in parallel (baseline)`, `${bareRate.toFixed(0)} commands/s`);
    line(
      `${PARALLEL_SESSIONS} sessions in parallel through the router`,
      `${routedRate.toFixed(0)} commands/s`,
    );
  } finally {
    await Promise.allSettled(bare.map((sandbox) => sandbox.destroy()));
    await driver.close();
    await airlock.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
