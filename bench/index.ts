// `npm run bench`: node --expose-gc bench/index.ts [--runs N] [--only sandbox|isolation|policy|router|api|audit|egress|agent|pty|archive|cluster]
//   [--machine-cores C] (the cluster bench's CPU budget per emulated machine, default 0.4)
//   [--cpu-prof DIR] (the cluster benches' PostgreSQL nodes write CPU profiles into DIR, node --cpu-prof)
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runAgentBench } from './agent.bench.ts';
import { runApiBench } from './api.bench.ts';
import { runArchiveBench } from './archive.bench.ts';
import { runAuditBench } from './audit.bench.ts';
import { runClusterBench } from './cluster.bench.ts';
import { runClusterForwardBench } from './cluster-forward.bench.ts';
import { runEgressBench } from './egress.bench.ts';
import { runEgressSandboxBench } from './egress-sandbox.bench.ts';
import { runRouterBench } from './router.bench.ts';
import { runIsolationBench } from './isolation.bench.ts';
import { runPtyBench } from './pty.bench.ts';
import { runSandboxBench } from './sandbox.bench.ts';

const DEFAULT_RUNS = 200;
/** Three of these, PostgreSQL and the load generator fit in a 2-core machine. */
const DEFAULT_MACHINE_CORES = 0.4;
const benches = [
  'sandbox',
  'isolation',
  'policy',
  'router',
  'api',
  'audit',
  'egress',
  'agent',
  'pty',
  'archive',
  'cluster',
  'cluster-forward',
] as const;
type BenchName = (typeof benches)[number];

function isBenchName(value: string): value is BenchName {
  return (benches as readonly string[]).includes(value);
}

async function runPolicyBenchIfPresent(required: boolean): Promise<void> {
  // Written separately; a checkout without it still benches the sandbox.
  const url = new URL('./policy.bench.ts', import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    console.log(`\nPolicy bench: skipped, bench/policy.bench.ts does not exist`);
    if (required) process.exitCode = 1;
    return;
  }
  // A computed specifier keeps tsc from requiring the file to exist.
  const module = (await import(url.href)) as { runPolicyBench?: () => Promise<void> };
  if (typeof module.runPolicyBench !== 'function') {
    throw new Error('bench/policy.bench.ts does not export runPolicyBench()');
  }
  console.log('');
  await module.runPolicyBench();
}

/** Bad command-line input: reported as one line and exit code 2, not as a stack trace. */
class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(
    `${message}\nusage: npm run bench -- [--runs N] [--only ${benches.join('|')}] [--machine-cores C] [--cpu-prof DIR]`,
  );
}

async function main(): Promise<void> {
  let values: {
    runs?: string | undefined;
    only?: string | undefined;
    'machine-cores'?: string | undefined;
    'cpu-prof'?: string | undefined;
  };
  try {
    ({ values } = parseArgs({
      options: {
        runs: { type: 'string' },
        only: { type: 'string' },
        'machine-cores': { type: 'string' },
        'cpu-prof': { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    usage((error as Error).message);
  }
  const runs = values.runs === undefined ? DEFAULT_RUNS : Number(values.runs);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    usage(`--runs must be a positive integer, got ${values.runs}`);
  }
  const machineCores =
    values['machine-cores'] === undefined ? DEFAULT_MACHINE_CORES : Number(values['machine-cores']);
  if (!Number.isFinite(machineCores) || machineCores < 0.01) {
    usage(`--machine-cores must be a number of cores of at least 0.01, got ${values['machine-cores']}`);
  }
  if (values.only !== undefined && !isBenchName(values.only)) {
    usage(`--only must be one of ${benches.join(', ')}, got ${values.only}`);
  }
  const only = values.only;
  if (only === undefined || only === 'sandbox') await runSandboxBench({ runs });
  if (only === undefined || only === 'isolation') await runIsolationBench({ runs });
  if (only === undefined || only === 'policy') await runPolicyBenchIfPresent(only === 'policy');
  if (only === undefined || only === 'router') {
    console.log('');
    await runRouterBench({ runs });
  }
  if (only === undefined || only === 'api') {
    console.log('');
    await runApiBench({ runs });
  }
  if (only === undefined || only === 'audit') {
    console.log('');
    await runAuditBench({ runs });
  }
  if (only === undefined || only === 'egress') {
    console.log('');
    await runEgressBench({ runs });
    console.log('');
    await runEgressSandboxBench({ runs });
  }
  if (only === undefined || only === 'agent') {
    console.log('');
    await runAgentBench({ runs });
  }
  if (only === undefined || only === 'pty') {
    console.log('');
    await runPtyBench({ runs });
  }
  if (only === undefined || only === 'archive') {
    console.log('');
    await runArchiveBench();
  }
  if (only === undefined || only === 'cluster') {
    console.log('');
    await runClusterBench({
      sessions: 150,
      commandsPerSession: 5,
      machineCores,
      ...(values['cpu-prof'] === undefined ? {} : { cpuProfileDir: resolve(values['cpu-prof']) }),
    });
  }
  if (only === undefined || only === 'cluster-forward') {
    console.log('');
    await runClusterForwardBench({
      sessions: 60,
      commandsPerSession: 20,
      ...(values['cpu-prof'] === undefined ? {} : { cpuProfileDir: resolve(values['cpu-prof']) }),
    });
  }
}

try {
  await main();
} catch (error) {
  if (error instanceof UsageError) {
    console.error(error.message);
    process.exitCode = 2;
  } else {
    console.error(error);
    process.exitCode = 1;
  }
}
