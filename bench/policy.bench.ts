import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parse } from 'unbash';
import {
  createPolicyEngine,
  DEFAULT_CAPABILITIES,
  type PolicyEngine,
  type SessionCapabilities,
} from '../src/policy/index.ts';

/** A session with network a person can grant, secrets in the workspace and an approval gate: the heaviest path. */
const BUSY_SESSION: SessionCapabilities = {
  ...DEFAULT_CAPABILITIES,
  network: {
    mode: 'ask',
    allow: ['*.example.test', 'registry:npm'],
    registryNames: { npm: ['npm.example.test'] },
  },
  secrets: { envNames: ['API_TOKEN'], files: ['.env', 'config/db.txt'] },
};
import { percentile } from './stats.ts';

/** The repository's policy corpora, as in the corpus gate. */
const corpusDir = resolve(import.meta.dirname, '../test/corpus');

function corpus(): string[] {
  return ['evasions', 'benign', 'benign-heldout', 'benign-heldout-2'].flatMap((name) =>
    readFileSync(join(corpusDir, `${name}.jsonl`), 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => (JSON.parse(line) as { cmd: string }).cmd),
  );
}

async function treeSitterWasm(): Promise<{ grammarWasm: Uint8Array; runtimeWasm: Uint8Array }> {
  const require = createRequire(import.meta.url);
  const grammarDir = dirname(require.resolve('tree-sitter-bash/package.json'));
  return {
    grammarWasm: await readFile(join(grammarDir, 'tree-sitter-bash.wasm')),
    runtimeWasm: await readFile(require.resolve('web-tree-sitter/tree-sitter.wasm')),
  };
}

interface Figures {
  perSecond: number;
  p50Us: number;
  p99Us: number;
  /** Per-decision CPU time of this process: what a decision costs, without the time other processes took the core. */
  cpuP50Us: number;
  cpuP99Us: number;
}

type Decide = (command: string) => unknown;

/**
 * Times each of `fns` once per command per round (after a warm-up), interleaved so that every
 * engine meets the same machine load, one call at a time on this core. Wall time includes the
 * moments the scheduler gave the core to another process; CPU time does not.
 */
function measure(commands: readonly string[], rounds: number, fns: readonly Decide[]): Figures[] {
  for (const fn of fns) for (const command of commands) fn(command);
  const wall = fns.map(() => [] as number[]);
  const cpu = fns.map(() => [] as number[]);
  const totals = fns.map(() => 0);
  for (let r = 0; r < rounds; r++) {
    for (const command of commands) {
      fns.forEach((fn, i) => {
        const before = process.cpuUsage();
        const t0 = performance.now();
        fn(command);
        const elapsed = performance.now() - t0;
        const used = process.cpuUsage(before);
        (wall[i] as number[]).push(elapsed);
        (cpu[i] as number[]).push((used.user + used.system) / 1000);
        totals[i] = (totals[i] as number) + elapsed;
      });
    }
  }
  return fns.map((_, i) => {
    const w = (wall[i] as number[]).sort((a, b) => a - b);
    const c = (cpu[i] as number[]).sort((a, b) => a - b);
    return {
      perSecond: (w.length / (totals[i] as number)) * 1000,
      p50Us: percentile(w, 50) * 1000,
      p99Us: percentile(w, 99) * 1000,
      cpuP50Us: percentile(c, 50) * 1000,
      cpuP99Us: percentile(c, 99) * 1000,
    };
  });
}

function line(label: string, f: Figures): string {
  return `${label.padEnd(44)} ${f.perSecond.toFixed(0).padStart(6)}/s  wall p50 ${f.p50Us.toFixed(1).padStart(6)} µs  p99 ${f.p99Us.toFixed(1).padStart(8)} µs  cpu p50 ${f.cpuP50Us.toFixed(0).padStart(4)} µs  p99 ${f.cpuP99Us.toFixed(0).padStart(5)} µs`;
}

interface PolicyModule {
  createPolicyEngine: typeof createPolicyEngine;
}

/**
 * The policy engine of another commit (default `main`, or AIRLOCK_POLICY_BASELINE), built for this
 * run from that commit's `src/` with this checkout's dependencies, so both engines are measured on
 * the same corpus, machine and load. `null` (with the reason printed) when the ref does not exist.
 */
async function baselineEngine(
  ref: string,
): Promise<{ module: PolicyModule; commit: string; cleanup: () => void } | null> {
  const repo = resolve(import.meta.dirname, '..');
  let commit: string;
  try {
    commit = execFileSync('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], {
      cwd: repo,
      encoding: 'utf8',
    }).trim();
  } catch {
    console.log(`baseline: no commit ${ref} in this checkout; set AIRLOCK_POLICY_BASELINE to one`);
    return null;
  }
  const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-baseline-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const archive = join(dir, 'src.tar');
  execFileSync('git', ['archive', '--format=tar', '-o', archive, commit, 'src'], { cwd: repo });
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
  const entry = join(dir, 'src/policy/index.ts');
  if (!existsSync(entry)) {
    cleanup();
    console.log(`baseline: ${ref} has no src/policy/index.ts`);
    return null;
  }
  const module = (await import(pathToFileURL(entry).href)) as PolicyModule;
  return { module, commit, cleanup };
}

/**
 * Policy decisions per second and latency over the corpora (targets: p50 ≤ 100 µs, p99 ≤ 1 ms),
 * each line beside the same measurement of the baseline commit's engine in this run.
 */
export async function runPolicyBench(): Promise<void> {
  const commands = corpus();
  const rounds = 50;
  const baseRef = process.env['AIRLOCK_POLICY_BASELINE'] ?? 'main';
  const baseline = await baselineEngine(baseRef);
  try {
    const plain: PolicyEngine = await createPolicyEngine({ policy: { preset: 'coding-agent' } });
    const gated: PolicyEngine = await createPolicyEngine({
      policy: { preset: 'coding-agent' },
      approvalRequiredFor: ['pip install', 'npm install', 'write_file'],
    });
    console.log(
      `policy engine: ${commands.length} corpus commands x ${rounds} rounds, coding-agent preset; baseline: ${baseRef}${baseline ? ` (${baseline.commit.slice(0, 12)})` : ' (missing)'}`,
    );
    const [parseOnly] = measure(commands, rounds, [(c) => parse(c)]);
    console.log(line('unbash parse only', parseOnly as Figures));
    if (baseline) {
      const basePlain = await baseline.module.createPolicyEngine({ policy: { preset: 'coding-agent' } });
      const baseGated = await baseline.module.createPolicyEngine({
        policy: { preset: 'coding-agent' },
        approvalRequiredFor: ['pip install', 'npm install', 'write_file'],
      });
      const [b1, n1] = measure(commands, rounds, [(c) => basePlain.evaluate(c), (c) => plain.evaluate(c)]);
      console.log(line(`evaluate, unbash only: baseline ${baseRef}`, b1 as Figures));
      console.log(line('evaluate, unbash only: this engine', n1 as Figures));
      const [b2, n2] = measure(commands, rounds, [
        (c) => baseGated.evaluate(c, { capabilities: BUSY_SESSION }),
        (c) => gated.evaluate(c, { capabilities: BUSY_SESSION }),
      ]);
      console.log(line(`session with secrets, gate: baseline ${baseRef}`, b2 as Figures));
      console.log(line('session with secrets, gate: this engine', n2 as Figures));
    } else {
      const [n1] = measure(commands, rounds, [(c) => plain.evaluate(c)]);
      console.log(line('evaluate, unbash only: this engine', n1 as Figures));
      const [n2] = measure(commands, rounds, [(c) => gated.evaluate(c, { capabilities: BUSY_SESSION })]);
      console.log(line('session with secrets, gate: this engine', n2 as Figures));
    }
    const checked: PolicyEngine = await createPolicyEngine({
      policy: { preset: 'coding-agent' },
      treeSitter: await treeSitterWasm(),
    });
    const [n3] = measure(commands, rounds, [(c) => checked.evaluate(c)]);
    console.log(line('evaluate, with tree-sitter cross-check', n3 as Figures));
    console.log(
      'targets: p50 <= 100 µs, p99 <= 1000 µs (unbash-only and session lines). Wall time counts the moments another process held the core; CPU time is the decision alone.',
    );
  } finally {
    baseline?.cleanup();
  }
}
