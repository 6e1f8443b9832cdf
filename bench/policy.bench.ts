import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
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
  return ['evasions', 'benign', 'benign-heldout'].flatMap((name) =>
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
}

/** Times `fn` once per command per round (after a warm-up), one call at a time on this core. */
function measure(commands: readonly string[], rounds: number, fn: (command: string) => unknown): Figures {
  for (const command of commands) fn(command);
  const samples: number[] = [];
  const start = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (const command of commands) {
      const t0 = performance.now();
      fn(command);
      samples.push(performance.now() - t0);
    }
  }
  const totalMs = performance.now() - start;
  samples.sort((a, b) => a - b);
  return {
    perSecond: (samples.length / totalMs) * 1000,
    p50Us: percentile(samples, 50) * 1000,
    p99Us: percentile(samples, 99) * 1000,
  };
}

function line(label: string, f: Figures): string {
  return `${label.padEnd(38)} ${f.perSecond.toFixed(0).padStart(8)} decisions/s   p50 ${f.p50Us.toFixed(1).padStart(7)} µs   p99 ${f.p99Us.toFixed(1).padStart(8)} µs`;
}

/** Policy decisions per second and latency over both corpora (targets: p50 ≤ 100 µs, p99 ≤ 1 ms). */
export async function runPolicyBench(): Promise<void> {
  const commands = corpus();
  const rounds = 50;
  const plain: PolicyEngine = await createPolicyEngine({ policy: { preset: 'coding-agent' } });
  const checked: PolicyEngine = await createPolicyEngine({
    policy: { preset: 'coding-agent' },
    treeSitter: await treeSitterWasm(),
  });
  console.log(`policy engine: ${commands.length} corpus commands x ${rounds} rounds, coding-agent preset`);
  console.log(
    line(
      'baseline: unbash parse only',
      measure(commands, rounds, (c) => parse(c)),
    ),
  );
  console.log(
    line(
      'evaluate (unbash only)',
      measure(commands, rounds, (c) => plain.evaluate(c)),
    ),
  );
  console.log(
    line(
      'evaluate (with tree-sitter cross-check)',
      measure(commands, rounds, (c) => checked.evaluate(c)),
    ),
  );
  const gated: PolicyEngine = await createPolicyEngine({
    policy: { preset: 'coding-agent' },
    approvalRequiredFor: ['pip install', 'npm install', 'write_file'],
  });
  console.log(
    line(
      'evaluate (session with secrets, gate)',
      measure(commands, rounds, (c) => gated.evaluate(c, { capabilities: BUSY_SESSION })),
    ),
  );
  console.log('targets: p50 <= 100 µs, p99 <= 1000 µs (the unbash-only and session lines)');
}
