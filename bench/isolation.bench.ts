// gVisor and Docker drivers beside the raw tools, measured in the same run:
// cold = create() + first exec('true'), warm = exec('true') in a running sandbox.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { baseImageTag, createDriver } from '../src/sandbox/index.ts';
import type { Driver, DriverOptions, Sandbox } from '../src/sandbox/index.ts';
import { benchSpec, formatMs, summarize, timeRuns } from './stats.ts';
import type { Summary } from './stats.ts';

export interface IsolationBenchOptions {
  /** Warm-exec runs per figure; cold figures use at most COLD_RUNS. */
  runs: number;
}

const COLD_RUNS = 20;
/** Pause before each pooled run: enough for the pool to create its next sandbox. */
const POOL_REFILL_MS = 600;
const WARMUP_RUNS = 3;
const RUNSC = '/usr/bin/runsc';
const DOCKER = '/usr/bin/docker';
const TARGET_GVISOR_COLD_MS = 150;
const TARGET_DOCKER_COLD_MS = 250;
const TARGET_WARM_OVERHEAD_MS = 5;

const spec = benchSpec;

function run(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { shell: false, stdio: ['ignore', 'pipe', 'pipe'], env: {}, cwd: '/' });
    let stderr = '';
    child.stdout.resume();
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: exit ${code}: ${stderr.trim()}`)),
    );
  });
}

function runDetached(file: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { shell: false, stdio: 'ignore', env: {}, cwd: '/' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')}: exit ${code}`)),
    );
  });
}

function row(label: string, summary: Summary, target = ''): string {
  const cells = [summary.p50Ms, summary.p99Ms, summary.meanMs].map((ms) => formatMs(ms).padStart(8));
  return `  ${label.padEnd(48)}${cells.join('')}   ${target}`;
}

/** create() + first exec('true'), each run after `gapMs` (time for a pool to refill). */
async function coldRuns(driver: Driver, runs: number, gapMs: number): Promise<Summary> {
  const coldMs: number[] = [];
  for (let i = 0; i < Math.min(runs, COLD_RUNS); i += 1) {
    if (gapMs > 0) await sleep(gapMs);
    const startedAt = performance.now();
    const sandbox = await driver.create(spec);
    await sandbox.exec('true');
    coldMs.push(performance.now() - startedAt);
    await sandbox.destroy();
  }
  return summarize(coldMs);
}

async function measureDriver(
  name: 'gvisor' | 'docker',
  options: DriverOptions,
  runs: number,
): Promise<{ cold: Summary; pooled: Summary; warm: Summary; detail: string }> {
  const driver: Driver = createDriver(name, options);
  let cold: Summary;
  let warm: Summary;
  let detail: string;
  try {
    // The first create pays one-time work (platform probe, sweep, image check): not a cold start.
    const first = await driver.create(spec);
    detail = JSON.stringify(first.info ?? {});
    await first.destroy();
    cold = await coldRuns(driver, runs, 0);
    const sandbox: Sandbox = await driver.create(spec);
    try {
      warm = summarize(await timeRuns(runs, WARMUP_RUNS, () => sandbox.exec('true').then(() => {})));
    } finally {
      await sandbox.destroy();
    }
  } finally {
    await driver.close();
  }
  // The same with one sandbox kept created ahead of need (`prewarm: 1`, the warm pool).
  const pooledDriver = createDriver(name, { ...options, prewarm: 1 });
  try {
    await (await pooledDriver.create(spec)).destroy();
    const pooled = await coldRuns(pooledDriver, runs, POOL_REFILL_MS);
    return { cold, pooled, warm, detail };
  } finally {
    await pooledDriver.close();
  }
}

/** A bundle for raw runsc: the host's root read-only, a long sleep as the container's process. */
function rawBundle(dir: string, args: string[]): string {
  const bundle = join(dir, `bundle-${args[0]?.replaceAll('/', '_')}`);
  mkdirSync(bundle, { recursive: true });
  writeFileSync(
    join(bundle, 'config.json'),
    JSON.stringify({
      ociVersion: '1.0.2',
      process: { user: { uid: 65534, gid: 65534 }, args, env: ['PATH=/usr/bin:/bin'], cwd: '/' },
      root: { path: '/', readonly: true },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: {
        namespaces: [
          { type: 'pid' },
          { type: 'network' },
          { type: 'ipc' },
          { type: 'uts' },
          { type: 'mount' },
        ],
      },
    }),
  );
  return bundle;
}

/** What the drivers run for exec('true'): the same command makes the raw tools' figures comparable. */
const SHELL_TRUE = ['/usr/bin/bash', '--noprofile', '--norc', '-c', 'true'];

interface RawFigures {
  cold: Summary;
  /** The raw tool's exec of the driver's very command (bash -c true). */
  exec: Summary;
  /** The raw tool's exec of /bin/true, for reference. */
  execTrue: Summary;
}

async function measureRawRunsc(runs: number, platform: string): Promise<RawFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-bench-runsc-'));
  const flags = [
    `--root=${join(dir, 'state')}`,
    `--platform=${platform}`,
    '--network=none',
    '--ignore-cgroups',
  ];
  const id = `airlock-bench-${process.pid}`;
  try {
    const doCold = summarize(
      await timeRuns(Math.min(runs, COLD_RUNS), 1, () => run(RUNSC, [...flags, 'do', '/bin/true'])),
    );
    // The detached sandbox keeps runsc's stdio: waiting for those pipes to close would never end.
    await runDetached(RUNSC, [
      ...flags,
      'run',
      '--detach',
      `--bundle=${rawBundle(dir, ['/bin/sleep', '100000'])}`,
      id,
    ]);
    try {
      const execTrue = summarize(
        await timeRuns(runs, WARMUP_RUNS, () => run(RUNSC, [...flags, 'exec', id, '/bin/true'])),
      );
      const exec = summarize(
        await timeRuns(runs, WARMUP_RUNS, () => run(RUNSC, [...flags, 'exec', id, ...SHELL_TRUE])),
      );
      return { cold: doCold, exec, execTrue };
    } finally {
      await run(RUNSC, [...flags, 'delete', '--force', id]).catch(() => {});
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function measureRawDocker(runs: number, image: string): Promise<RawFigures> {
  const common = ['--network=none', '--read-only', '--cap-drop=ALL', '--security-opt=no-new-privileges'];
  const runCold = summarize(
    await timeRuns(Math.min(runs, COLD_RUNS), 1, () =>
      run(DOCKER, ['run', '--rm', ...common, image, 'true']),
    ),
  );
  const name = `airlock-bench-${process.pid}`;
  await run(DOCKER, ['run', '-d', '--name', name, ...common, image, 'sleep', '100000']);
  try {
    const execTrue = summarize(await timeRuns(runs, WARMUP_RUNS, () => run(DOCKER, ['exec', name, 'true'])));
    const exec = summarize(
      await timeRuns(runs, WARMUP_RUNS, () => run(DOCKER, ['exec', name, ...SHELL_TRUE])),
    );
    return { cold: runCold, exec, execTrue };
  } finally {
    await run(DOCKER, ['rm', '-f', name]).catch(() => {});
  }
}

function verdict(value: number, limit: number): string {
  return value <= limit ? `met (≤ ${formatMs(limit)})` : `MISSED (target ≤ ${formatMs(limit)})`;
}

export async function runIsolationBench(options: IsolationBenchOptions = { runs: 200 }): Promise<void> {
  const runs = options.runs;
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-bench-isolation-'));
  console.log(
    `\nIsolation drivers (gVisor, Docker): cold = create + first exec('true'); warm = exec('true')`,
  );
  try {
    console.log(`  ${''.padEnd(48)}${['p50', 'p99', 'mean'].map((h) => h.padStart(8)).join('')}   target`);
    if (!existsSync(RUNSC)) {
      console.log(`  gvisor: skipped, ${RUNSC} is not installed`);
    } else {
      try {
        const gvisor = await measureDriver('gvisor', { stateDir }, runs);
        const platform = (JSON.parse(gvisor.detail) as { platform?: string }).platform ?? 'systrap';
        const raw = await measureRawRunsc(runs, platform);
        console.log(row(`raw runsc do /bin/true (${platform}, cold)`, raw.cold));
        console.log(row('raw runsc exec <running> /bin/true', raw.execTrue));
        console.log(row('raw runsc exec <running> bash -c true', raw.exec));
        console.log(
          row(
            `airlock gvisor cold (${platform})`,
            gvisor.cold,
            verdict(gvisor.cold.p50Ms, TARGET_GVISOR_COLD_MS),
          ),
        );
        console.log(row('airlock gvisor cold, pooled (prewarm: 1)', gvisor.pooled));
        console.log(
          row(
            'airlock gvisor warm exec',
            gvisor.warm,
            verdict(gvisor.warm.p50Ms, raw.exec.p50Ms + TARGET_WARM_OVERHEAD_MS),
          ),
        );
      } catch (error) {
        console.log(`  gvisor: skipped, ${(error as Error).message}`);
      }
    }
    if (!existsSync(DOCKER)) {
      console.log(`  docker: skipped, ${DOCKER} is not installed`);
    } else {
      try {
        const docker = await measureDriver('docker', { stateDir }, runs);
        const raw = await measureRawDocker(runs, baseImageTag());
        console.log(row('raw docker run --rm image true (cold)', raw.cold));
        console.log(row('raw docker exec <running> true', raw.execTrue));
        console.log(row('raw docker exec <running> bash -c true', raw.exec));
        console.log(
          row('airlock docker cold (runc)', docker.cold, verdict(docker.cold.p50Ms, TARGET_DOCKER_COLD_MS)),
        );
        console.log(row('airlock docker cold, pooled (prewarm: 1)', docker.pooled));
        console.log(
          row(
            'airlock docker warm exec',
            docker.warm,
            verdict(docker.warm.p50Ms, raw.exec.p50Ms + TARGET_WARM_OVERHEAD_MS),
          ),
        );
      } catch (error) {
        console.log(`  docker: skipped, ${(error as Error).message}`);
      }
    }
  } finally {
    rmSync(stateDir, { recursive: true, force: true });
  }
}
