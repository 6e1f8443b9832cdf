/**
 * The cluster bench's load: every session's commands at once, sent to the nodes in turn as a load
 * balancer would (or straight to each session's node, or by the SDK, which follows its session's
 * node), with latency per command and how busy the machine was meanwhile.
 */
import { existsSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { AirlockClient } from '../src/sdk/index.ts';
import { createSession, post, TOKEN } from './cluster-serve.ts';
import { formatMs, summarize } from './stats.ts';

export interface LoadOptions {
  readonly sessions: number;
  readonly commandsPerSession: number;
  readonly command: string;
  /**
   * The node ids of `urls`, in order: then each command goes straight to its session's node instead
   * of to the nodes in turn, so none is forwarded.
   */
  readonly toOwner?: readonly string[];
  /**
   * Through the TypeScript SDK instead: each session created through the nodes in turn, its commands
   * run with `session.run`, which sends them to the node the answers name (followSessionNode).
   */
  readonly sdk?: boolean;
}

export interface LoadResult {
  readonly commandsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly commands: number;
  readonly wallS: number;
  /** Share of the machine's core time that was busy during the run; null without /proc/stat. */
  readonly busy: number | null;
  /** Busy core-milliseconds per command (every process on the machine counted). */
  readonly coreMsPerCommand: number | null;
  /** Cores the load generator (this process: HTTP client and bookkeeping) used on average. */
  readonly loadGeneratorCores: number;
}

/** Called around the commands (not the sessions' creation), for accounting of the run itself. */
export interface LoadHooks {
  readonly begin?: () => void;
  readonly end?: (wallS: number) => void;
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

/** One session of the load: runs one command, and answers its status. */
type Runner = () => Promise<unknown>;

/** Sessions made through the HTTP API (the first URL), each command sent as `options` says. */
async function httpRunners(urls: readonly string[], options: LoadOptions): Promise<Runner[]> {
  const { toOwner } = options;
  let turn = 0;
  const runners: Runner[] = [];
  for (let i = 0; i < options.sessions; i++) {
    const session = await createSession(urls[0] ?? '');
    const owner = toOwner === undefined ? undefined : urls[toOwner.indexOf(session.node ?? '')];
    if (toOwner !== undefined && owner === undefined)
      throw new Error(`session ${session.id} runs on unknown node ${session.node}`);
    runners.push(async () => {
      const base = owner ?? urls[turn++ % urls.length] ?? '';
      const result = await post(
        base,
        `/v1/sessions/${session.id}/commands`,
        { command: options.command },
        session.token,
      );
      return result['status'];
    });
  }
  return runners;
}

/** Sessions made through the SDK, each through the next node as a load balancer would send them. */
async function sdkRunners(urls: readonly string[], options: LoadOptions): Promise<Runner[]> {
  const runners: Runner[] = [];
  for (let i = 0; i < options.sessions; i++) {
    const client = new AirlockClient({ url: urls[i % urls.length] ?? '', token: TOKEN });
    const session = await client.sessions.create();
    runners.push(async () => (await session.run(options.command)).status);
  }
  return runners;
}

/** Creates the sessions, then runs every session's commands at once. */
export async function runLoad(
  urls: readonly string[],
  options: LoadOptions,
  hooks: LoadHooks = {},
): Promise<LoadResult> {
  const runners = options.sdk === true ? await sdkRunners(urls, options) : await httpRunners(urls, options);
  const latencies: number[] = [];
  hooks.begin?.();
  const ticksBefore = cpuTicks();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    runners.map(async (run) => {
      for (let i = 0; i < options.commandsPerSession; i++) {
        const sent = performance.now();
        const status = await run();
        if (status !== 'completed') throw new Error(`command ended ${String(status)}`);
        latencies.push(performance.now() - sent);
      }
    }),
  );
  const wallS = (performance.now() - started) / 1000;
  const own = process.cpuUsage(ownBefore);
  const ticksAfter = cpuTicks();
  hooks.end?.(wallS);
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
    wallS,
    busy: used === null || used.total === 0 ? null : used.busy / used.total,
    // Jiffies are 1/100 s on Linux (USER_HZ).
    coreMsPerCommand: used === null ? null : (used.busy * 10) / latencies.length,
    loadGeneratorCores: (own.user + own.system) / 1e6 / wallS,
  };
}

export function report(label: string, result: LoadResult): void {
  console.log(
    `  ${label.padEnd(40)} ${result.commandsPerS.toFixed(1).padStart(7)} commands/s  ` +
      `p50 ${formatMs(result.p50Ms)} ms  p99 ${formatMs(result.p99Ms)} ms  (${result.commands} commands)` +
      (result.busy === null || result.coreMsPerCommand === null
        ? ''
        : `  cores ${(result.busy * 100).toFixed(0)}% busy, ${result.coreMsPerCommand.toFixed(0)} core-ms/command`),
  );
}
