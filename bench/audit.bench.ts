/**
 * What signed checkpoints and the witness cost the audit append path: events committed per second
 * through a bare SQLite store (the baseline, measured in the same run), through the audit trail with
 * a checkpoint every 1000 events, and with a witness file as well. Rounds alternate the three so that
 * disk and CPU noise from other work lands on all of them alike.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createCheckpointer,
  createWitnessSink,
  loadOrCreateAuditKey,
  openSqliteStore,
  withAuditTrail,
} from '../src/store/index.ts';
import type { AuditEventInput, AuditSigningKey, Store } from '../src/store/index.ts';

export interface AuditBenchOptions {
  /** Commits per variant and round; each commits 2 events, as the router does per command start. */
  runs: number;
}

const ROUNDS = 5;
const EVENTS_PER_COMMIT = 2;
const CHECKPOINT_EVERY = 1000;

type Variant = 'baseline' | 'signed' | 'signed+witness';
/**
 * A file store syncs every commit (synchronous=FULL), which dominates and varies with the disk; an
 * in-memory store leaves the CPU cost of signing and the witness alone, steadier to compare.
 */
type Storage = 'file' | 'memory';
const variants: readonly Variant[] = ['baseline', 'signed', 'signed+witness'];

interface Measured {
  /** Events per second until the last commit returned: what a caller waits for. */
  readonly commitPath: number;
  /** Events per second including the background work drained (checkpoints signed, witness written). */
  readonly drained: number;
  /**
   * CPU time (user + system) of this process per event, background work included: steadier than
   * throughput on a machine shared with other work, which slows the wall clock but not this count.
   */
  readonly cpuMicrosPerEvent: number;
  readonly checkpoints: number;
}

function events(i: number): AuditEventInput[] {
  return Array.from({ length: EVENTS_PER_COMMIT }, (_, j) => ({
    type: 'command.proposed',
    sessionId: 'ses_0000000000000000000000bench',
    commandId: `cmd_${i}_${j}`,
    data: { command: `pytest -q tests/test_${i}.py`, decision: 'allow', ruleIds: ['everyday-dev'] },
  }));
}

async function measure(
  dir: string,
  variant: Variant,
  round: number,
  commits: number,
  key: AuditSigningKey,
  storage: Storage,
): Promise<Measured> {
  const name = `${storage}-${variant}-${round}`;
  const inner = openSqliteStore({ path: storage === 'memory' ? ':memory:' : join(dir, `${name}.db`) });
  let checkpoints = 0;
  // Reported after the round: a callback that threw would only become an unhandled rejection.
  const problems: string[] = [];
  const checkpointer =
    variant === 'baseline'
      ? null
      : createCheckpointer({
          store: inner,
          key,
          everyEvents: CHECKPOINT_EVERY,
          anchorPath: join(dir, `${name}.anchor.json`),
          onEvent: (event) => {
            if (event.status === 'signed') checkpoints++;
            if (event.status === 'refused' || event.status === 'failed')
              problems.push(`checkpoint ${event.status}`);
          },
        });
  const witness =
    variant === 'signed+witness'
      ? createWitnessSink({
          path: join(dir, `${name}.witness.jsonl`),
          store: inner,
          onEvent: (event) => problems.push(`witness ${event.status}`),
        })
      : null;
  const store: Store =
    checkpointer === null ? inner : withAuditTrail(inner, { checkpointer, witness, intervalMs: 60_000 });
  const cpuBefore = process.cpuUsage();
  const startedAt = performance.now();
  for (let i = 0; i < commits; i++) await store.commit({ events: events(i) });
  const committedAt = performance.now();
  await checkpointer?.checkpoint();
  await witness?.flush();
  const drainedAt = performance.now();
  const cpu = process.cpuUsage(cpuBefore);
  await store.close();
  if (problems.length > 0) throw new Error(`audit bench ${name}: ${problems.join(', ')}`);
  const total = commits * EVENTS_PER_COMMIT;
  return {
    commitPath: total / ((committedAt - startedAt) / 1000),
    drained: total / ((drainedAt - startedAt) / 1000),
    cpuMicrosPerEvent: (cpu.user + cpu.system) / total,
    checkpoints,
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function report(results: ReadonlyMap<Variant, readonly Measured[]>): void {
  const of = (variant: Variant, pick: (result: Measured) => number): number =>
    median((results.get(variant) ?? []).map(pick));
  const baseline = of('baseline', (result) => result.commitPath);
  const baselineCpu = of('baseline', (result) => result.cpuMicrosPerEvent);
  const change = (value: number, base: number): string =>
    `${value >= base ? '+' : ''}${((value / base - 1) * 100).toFixed(1)}%`;
  for (const variant of variants) {
    const commitPath = of(variant, (result) => result.commitPath);
    const cpu = of(variant, (result) => result.cpuMicrosPerEvent);
    const versus = variant === 'baseline' ? '' : ` (${change(commitPath, baseline)})`;
    const cpuVersus = variant === 'baseline' ? '' : ` (${change(cpu, baselineCpu)})`;
    console.log(
      `    ${variant.padEnd(15)} ${commitPath.toFixed(0).padStart(6)} events/s committed${versus.padEnd(9)}` +
        ` ${of(variant, (result) => result.drained)
          .toFixed(0)
          .padStart(6)} events/s drained` +
        `  ${cpu.toFixed(1).padStart(5)} µs CPU/event${cpuVersus}` +
        (variant === 'baseline' ? '' : `  ${of(variant, (result) => result.checkpoints)} checkpoints`),
    );
  }
}

export async function runAuditBench(options: AuditBenchOptions): Promise<void> {
  // Enough events for a few checkpoints per round even with a small --runs.
  const commits = Math.max(options.runs, 2 * CHECKPOINT_EVERY);
  const dir = mkdtempSync(join(tmpdir(), 'airlock-audit-bench-'));
  try {
    const key = loadOrCreateAuditKey(join(dir, 'audit-key'));
    console.log(
      `Audit bench (commits of ${EVENTS_PER_COMMIT} events, ${ROUNDS} rounds alternating the variants; ` +
        `checkpoint every ${CHECKPOINT_EVERY} events; store on ${dir}, synchronous=FULL)`,
    );
    for (const storage of ['file', 'memory'] as const) {
      // Commits to memory take microseconds: ten times as many keep a round well above timer noise.
      const count = storage === 'memory' ? commits * 10 : commits;
      console.log(
        storage === 'file'
          ? `  store file (every commit synced), ${count} commits per round:`
          : `  store in memory (no sync: the CPU cost alone), ${count} commits per round:`,
      );
      const results = new Map<Variant, Measured[]>(variants.map((variant) => [variant, []]));
      for (let round = 0; round < ROUNDS; round++) {
        for (const variant of variants) {
          results.get(variant)?.push(await measure(dir, variant, round, count, key, storage));
        }
      }
      report(results);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
