/**
 * The agent loop's own cost per step — everything but the model call and the command: building the
 * request, the context budget, checking and dispatching the tool call, shaping its result, the audit
 * records of the call and the step, the events — beside a bare HTTP round trip to the same scripted
 * model server, measured in the same run. The model call (through the SDK, streamed) and the command
 * (`true` through the router into a bwrap sandbox) are timed too, so the step adds up.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAirlock } from '../src/index.ts';
import type { AgentEvent } from '../src/index.ts';
import { startModelServer } from '../test/support/model-server.ts';
import type { ScriptStep } from '../test/support/model-server.ts';
import { formatMs, summarize } from './stats.ts';

export interface AgentBenchOptions {
  runs: number;
}

/** Steps per run: a conversation this long still fits the default context budget unelided. */
const MAX_STEPS = 200;
const WARMUP_STEPS = 10;

function line(label: string, value: string): void {
  console.log(`  ${label.padEnd(58)} ${value}`);
}

function figures(samples: readonly number[]): string {
  const summary = summarize(samples);
  return `p50 ${formatMs(summary.p50Ms)} ms  p99 ${formatMs(summary.p99Ms)} ms`;
}

/** One bare round trip: the body the SDK sent for a step, posted again, its streamed answer read whole. */
async function bareRoundTrip(url: string, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bench' },
    body,
  });
  await response.text();
  return performance.now() - started;
}

export async function runAgentBench(options: AgentBenchOptions): Promise<void> {
  const steps = Math.min(options.runs, MAX_STEPS) + WARMUP_STEPS;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-agent-bench-'));
  const script: ScriptStep[] = [
    ...Array.from({ length: steps }, () => ({
      toolCalls: [{ name: 'run_command', arguments: { command: 'true' } }],
    })),
    { text: 'done' },
  ];
  const server = await startModelServer([
    ...script,
    // The baseline's answers: the same stream shape, replayed for the same bodies.
    ...script.slice(0, steps),
  ]);
  const airlock = await createAirlock({
    home: join(dir, 'home'),
    env: { HOME: dir },
    config: { router: { rateLimit: '1000000/min', approvalRequiredFor: [] } },
  });
  try {
    console.log(
      `Agent bench (${steps - WARMUP_STEPS} steps after ${WARMUP_STEPS} warm-up; bwrap; model server on 127.0.0.1)`,
    );
    const overhead: number[] = [];
    const model: number[] = [];
    const command: number[] = [];
    let stepStarted = performance.now();
    let modelMs = 0;
    const run = airlock.agents.run({
      task: 'bench',
      model: 'bench-model',
      baseUrl: server.baseUrl,
      maxSteps: steps + 1,
      budgetTokens: 1_000_000_000,
    });
    for await (const event of run as AsyncIterable<AgentEvent>) {
      const now = performance.now();
      if (event.type === 'model_response') modelMs = event.latencyMs;
      if (event.type === 'tool_result') {
        if (event.step > WARMUP_STEPS) {
          model.push(modelMs);
          command.push(event.durationMs);
          overhead.push(now - stepStarted - modelMs - event.durationMs);
        }
        stepStarted = now;
      }
      if (event.type === 'run_finished' && event.status !== 'completed') {
        throw new Error(`agent bench: the run ended ${event.status}`);
      }
    }
    const bodies = server.received.slice(WARMUP_STEPS, steps).map((request) => request.raw);
    const bare: number[] = [];
    for (const body of bodies) bare.push(await bareRoundTrip(`${server.baseUrl}/chat/completions`, body));
    line('bare HTTP round trip to the model server (baseline)', figures(bare));
    line('model call through the openai SDK, streamed', figures(model));
    line('command `true` through the router (bwrap)', figures(command));
    line("the loop's own overhead per step (neither of the above)", figures(overhead));
  } finally {
    await airlock.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
