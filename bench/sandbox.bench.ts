import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDriver } from '../src/sandbox/index.ts';
import type { Sandbox } from '../src/sandbox/index.ts';
import { benchSpec, formatBytes, formatMs, summarize, timeRuns } from './stats.ts';
import type { Summary } from './stats.ts';

export interface SandboxBenchOptions {
  /** Measured runs per latency figure (after a short unmeasured warm-up). */
  runs: number;
}

const WARMUP_RUNS = 10;
const IDLE_SESSIONS = 20;
const CAPACITY_BYTES = 24 * 1024 ** 3;
const TARGET_WARM_RATIO = 2;
/** Pause before each cold run: long enough for a spare launcher or pooled sandbox to be ready. */
const RUN_GAP_MS = 90;
const TARGET_COLD_P50_MS = 10;
// Fixed paths, as the driver uses: the bench must not depend on PATH.
const SH = '/bin/sh';
const BASH = '/usr/bin/bash';
const BWRAP = '/usr/bin/bwrap';

const spec = benchSpec;

const isRoot = process.getuid?.() === 0;
// The driver drops to a session uid before exec'ing bwrap when the control plane is root; raw bwrap drops to nobody.
const dropIds: SpawnOptions = isRoot ? { uid: 65534, gid: 65534 } : {};

/** Spawns with pipes for output (as a real command needs) and resolves once it exited and its pipes closed. */
function run(file: string, args: readonly string[], extra: SpawnOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      shell: false,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {},
      cwd: '/',
      ...extra,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new Error(
            `${file} ${args.join(' ')} ended with ${code ?? signal}: ${Buffer.concat(err).toString()}`,
          ),
        );
    });
  });
}

/** The same namespace/mount shape as the driver's plan, minus its /etc binds, seccomp and supervisor. */
function rawBwrapArgs(): string[] {
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-net',
    '--unshare-cgroup',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--clearenv',
  ];
  for (const dir of ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    if (!existsSync(dir)) continue;
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(dir), dir);
    else args.push('--ro-bind', dir, dir);
  }
  args.push('--proc', '/proc', '--dev', '/dev');
  args.push('--size', String(spec.scratchBytes), '--tmpfs', '/tmp');
  args.push('--size', String(spec.scratchBytes), '--tmpfs', '/workspace');
  args.push('--remount-ro', '/', '--chdir', '/workspace', '--', '/usr/bin/true');
  return args;
}

/** Every process in one sandbox, found through `/proc/<pid>/cgroup` (works on cgroup v1 and v2). */
function processesBySandbox(names: readonly string[]): Map<string, number[]> {
  const found = new Map<string, number[]>(names.map((name) => [name, []]));
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let membership: string;
    try {
      membership = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    for (const line of membership.split('\n')) {
      const name = line.slice(line.lastIndexOf('/') + 1);
      const pids = found.get(name);
      if (pids) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return found;
}

/** RSS counts shared pages (libc, bwrap's text) in every process; PSS splits them among sharers. */
function processMemory(pid: number): { rssBytes: number; pssBytes: number } {
  const field = (text: string, key: string): number => {
    const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
    return match ? Number(match[1]) * 1024 : 0;
  };
  try {
    const rssBytes = field(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmRSS');
    const pssBytes = field(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'), 'Pss');
    return { rssBytes, pssBytes };
  } catch {
    return { rssBytes: 0, pssBytes: 0 };
  }
}

function row(label: string, summary: Summary, target = ''): string {
  const cells = [summary.p50Ms, summary.p99Ms, summary.meanMs].map((ms) => formatMs(ms).padStart(8));
  return `  ${label.padEnd(44)}${cells.join('')}   ${target}`;
}

const exposedGc = (globalThis as { gc?: () => void }).gc;
/** Available when run as `node --expose-gc` (npm run bench does); otherwise deltas include garbage. */
async function collectGarbage(): Promise<void> {
  if (!exposedGc) return;
  // Buffers' external memory is released by weak callbacks after a collection: give them a turn.
  for (let i = 0; i < 3; i += 1) {
    exposedGc();
    await sleep(10);
  }
}
const gcNote = (): string => (exposedGc ? ', after gc()' : ', no --expose-gc: includes garbage');

const verdict = (ok: boolean): string => (ok ? 'meets' : 'MISSES');

async function measureMemory(driver: ReturnType<typeof createDriver>, created: Set<Sandbox>): Promise<void> {
  await collectGarbage();
  const before = process.memoryUsage();
  const fdsBefore = readdirSync('/proc/self/fd').length;
  const startedAt = performance.now();
  const sandboxes = await Promise.all(
    Array.from({ length: IDLE_SESSIONS }, async () => {
      const sandbox = await driver.create(spec);
      created.add(sandbox);
      return sandbox;
    }),
  );
  const createMs = performance.now() - startedAt;
  // Let start-up garbage settle so the figures describe idle sessions, not ones mid-start.
  await sleep(500);
  await collectGarbage();
  const after = process.memoryUsage();
  const fdsPerSession = (readdirSync('/proc/self/fd').length - fdsBefore) / IDLE_SESSIONS;

  const names = sandboxes.map((sandbox) => `${process.pid}-${sandbox.id}`);
  const pidsByName = processesBySandbox(names);
  let rssBytes = 0;
  let pssBytes = 0;
  let processCount = 0;
  for (const pids of pidsByName.values()) {
    for (const pid of pids) {
      const memory = processMemory(pid);
      rssBytes += memory.rssBytes;
      pssBytes += memory.pssBytes;
      processCount += 1;
    }
  }
  const stats = await Promise.all(sandboxes.map((sandbox) => sandbox.stats()));
  const cgroupBytes = stats.reduce((sum, entry) => sum + entry.memoryBytes, 0);

  const destroyStartedAt = performance.now();
  await Promise.all(sandboxes.map((sandbox) => sandbox.destroy()));
  const destroyMs = performance.now() - destroyStartedAt;
  for (const sandbox of sandboxes) created.delete(sandbox);

  const n = IDLE_SESSIONS;
  const nodeRssBytes = (after.rss - before.rss) / n;
  const retained = (usage: NodeJS.MemoryUsage): number => usage.heapUsed + usage.external;
  const nodeHeapBytes = (retained(after) - retained(before)) / n;
  // RSS moves in whole pages and arenas, the heap is exact but misses native allocations: take the larger.
  const nodeBytes = Math.max(0, nodeRssBytes, nodeHeapBytes);
  const perRss = rssBytes / n + nodeBytes;
  const perPss = pssBytes / n + nodeBytes;
  const perCgroup = cgroupBytes / n + nodeBytes;
  const capacity = (bytes: number): string => Math.floor(CAPACITY_BYTES / bytes).toLocaleString('en-US');

  console.log(`\nIdle session memory (${n} sessions, ${processCount} host processes in their cgroups)`);
  console.log(
    `  sum of VmRSS per session        ${formatBytes(rssBytes / n).padStart(10)}  (shared pages counted again in every process)`,
  );
  console.log(
    `  sum of PSS per session          ${formatBytes(pssBytes / n).padStart(10)}  (shared pages split among sharers)`,
  );
  console.log(
    `  cgroup memory per session       ${formatBytes(cgroupBytes / n).padStart(10)}  (sandbox.stats().memoryBytes: user + kernel charged)`,
  );
  console.log(
    `  Node control-plane delta        ${formatBytes(nodeBytes).padStart(10)}  (RSS ${formatBytes(before.rss)} -> ${formatBytes(after.rss)} = ${formatBytes(nodeRssBytes)}/session; heap+external ${formatBytes(nodeHeapBytes)}/session${gcNote()})`,
  );
  console.log(
    `  idle sessions in 24 GiB: ${capacity(perRss)} by RSS+Node, ${capacity(perPss)} by PSS+Node, ${capacity(perCgroup)} by cgroup+Node`,
  );
  const openFilesLimit = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
  console.log(
    `  control-plane fds per session   ${fdsPerSession.toFixed(1).padStart(10)}  (open-files limit ${openFilesLimit ?? 'unlimited'}` +
      (openFilesLimit
        ? ` caps one control plane at ~${Math.floor(Number(openFilesLimit) / fdsPerSession)} sessions)`
        : ')'),
  );
  console.log(
    `  (host RAM here ${formatBytes(totalmem())}; the ${cpus().length} cores bound concurrent work, not idle sessions)`,
  );
  console.log(
    `  parallel create of ${n}: ${formatMs(createMs)} ms = ${(n / (createMs / 1000)).toFixed(0)} sessions/s; parallel destroy: ${formatMs(destroyMs)} ms = ${(n / (destroyMs / 1000)).toFixed(0)} sessions/s`,
  );
}

export async function runSandboxBench(options: SandboxBenchOptions = { runs: 200 }): Promise<void> {
  const { runs } = options;
  const stateDir = mkdtempSync(join(tmpdir(), 'airlock-bench-'));
  // Nothing prepared ahead: every create starts its launcher, joins cgroups and builds namespaces.
  const driver = createDriver('bwrap', { stateDir, prespawnLauncher: false });
  const created = new Set<Sandbox>();
  try {
    const bwrapVersion = (await run(BWRAP, ['--version'])).trim();
    const cgroupVersion = existsSync('/sys/fs/cgroup/cgroup.controllers') ? 'v2' : 'v1';
    console.log(
      `Sandbox bench: node ${process.version}, linux ${release()}, ${cpus().length} CPUs, ${formatBytes(totalmem())} RAM, ` +
        `${bwrapVersion}, cgroup ${cgroupVersion}, ${isRoot ? 'root (sandboxes run as their own uid from the range)' : 'unprivileged'}, ` +
        `${runs} runs each after ${WARMUP_RUNS} warm-up`,
    );

    const bareSh = summarize(await timeRuns(runs, WARMUP_RUNS, () => run(SH, ['-c', 'true']).then(() => {})));
    const bareBash = summarize(
      await timeRuns(runs, WARMUP_RUNS, () =>
        run(BASH, ['--noprofile', '--norc', '-c', 'true']).then(() => {}),
      ),
    );
    const bwrapArgs = rawBwrapArgs();
    const rawBwrap = summarize(
      await timeRuns(runs, WARMUP_RUNS, () => run(BWRAP, bwrapArgs, dropIds).then(() => {})),
    );

    // Cold: a fresh sandbox per command. The first create also builds the seccomp filter and sweeps.
    // Runs are spaced like the spare-launcher and pool runs below: sessions arrive with gaps in
    // practice, and back-to-back creates flatter the cold path (the kernel's cgroup-migration lock
    // stays in its fast state only while joins keep coming).
    const createMs: number[] = [];
    const firstExecMs: number[] = [];
    const createExecMs: number[] = [];
    const destroyMs: number[] = [];
    for (let i = 0; i < WARMUP_RUNS + runs; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, RUN_GAP_MS));
      const startedAt = performance.now();
      const sandbox = await driver.create(spec);
      created.add(sandbox);
      const createdAt = performance.now();
      const result = await sandbox.exec('true');
      const executedAt = performance.now();
      await sandbox.destroy();
      created.delete(sandbox);
      const destroyedAt = performance.now();
      if (result.exitCode !== 0)
        throw new Error(`cold exec('true') exited ${result.exitCode}: ${result.stderr}`);
      if (i < WARMUP_RUNS) continue;
      createMs.push(createdAt - startedAt);
      firstExecMs.push(executedAt - createdAt);
      createExecMs.push(executedAt - startedAt);
      destroyMs.push(destroyedAt - executedAt);
    }
    // Cold with a spare launcher (the driver's default): the launcher process was started ahead of
    // need inside fresh cgroups; namespaces, mounts and the supervisor are still made on demand.
    // Between runs the bench waits for the next spare, as a server with gaps between starts would.
    const spareDriver = createDriver('bwrap', { stateDir });
    const spareCreateExecMs: number[] = [];
    try {
      await (await spareDriver.create(spec)).destroy();
      for (let i = 0; i < WARMUP_RUNS + runs; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, RUN_GAP_MS));
        const startedAt = performance.now();
        const fresh = await spareDriver.create(spec);
        created.add(fresh);
        const result = await fresh.exec('true');
        const executedAt = performance.now();
        await fresh.destroy();
        created.delete(fresh);
        if (result.exitCode !== 0) throw new Error(`spare-launcher exec('true') exited ${result.exitCode}`);
        if (i >= WARMUP_RUNS) spareCreateExecMs.push(executedAt - startedAt);
      }
    } finally {
      await spareDriver.close();
    }
    const spareCreateExec = summarize(spareCreateExecMs);

    // Cold from a warm pool (prewarm: 1): the whole sandbox was created ahead of need.
    const pooledDriver = createDriver('bwrap', { stateDir, prewarm: 1 });
    const pooledCreateExecMs: number[] = [];
    try {
      await (await pooledDriver.create(spec)).destroy();
      for (let i = 0; i < WARMUP_RUNS + runs; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, RUN_GAP_MS));
        const startedAt = performance.now();
        const pooled = await pooledDriver.create(spec);
        created.add(pooled);
        const result = await pooled.exec('true');
        const executedAt = performance.now();
        await pooled.destroy();
        created.delete(pooled);
        if (result.exitCode !== 0) throw new Error(`pooled exec('true') exited ${result.exitCode}`);
        if (i >= WARMUP_RUNS) pooledCreateExecMs.push(executedAt - startedAt);
      }
    } finally {
      await pooledDriver.close();
    }
    const pooledCreateExec = summarize(pooledCreateExecMs);

    const coldTotal = summarize(createExecMs.map((ms, i) => ms + (destroyMs[i] ?? 0)));
    const coldCreateExec = summarize(createExecMs);
    const coldDestroy = summarize(destroyMs);

    // Warm: one live sandbox, one command after another.
    const sandbox = await driver.create(spec);
    created.add(sandbox);
    const reportedMs: number[] = [];
    const warm = summarize(
      await timeRuns(runs, WARMUP_RUNS, async () => {
        const result = await sandbox.exec('true');
        if (result.exitCode !== 0)
          throw new Error(`warm exec('true') exited ${result.exitCode}: ${result.stderr}`);
        reportedMs.push(result.durationMs);
      }),
    );
    const warmReported = summarize(reportedMs.slice(WARMUP_RUNS));
    await sandbox.destroy();
    created.delete(sandbox);

    const warmVsBash = warm.p50Ms / bareBash.p50Ms;
    console.log(`\nLatency, ms (sequential; spawns capture stdout/stderr and wait for exit + pipe close)`);
    console.log(`  ${''.padEnd(44)}${['p50', 'p99', 'mean'].map((h) => h.padStart(8)).join('')}   target`);
    console.log(row('bare spawn: sh -c true', bareSh));
    console.log(row('bare spawn: bash --noprofile --norc -c true', bareBash));
    console.log(row('raw bwrap (same namespaces/mounts) true', rawBwrap));
    console.log(
      row(
        'airlock cold, nothing ahead: create + exec',
        coldCreateExec,
        `p50 <= ${TARGET_COLD_P50_MS} ms: ${verdict(coldCreateExec.p50Ms <= TARGET_COLD_P50_MS)}`,
      ),
    );
    console.log(row('  of which create()', summarize(createMs)));
    console.log(row("  of which first exec('true')", summarize(firstExecMs)));
    console.log(
      row(
        'airlock cold, spare launcher: create + exec',
        spareCreateExec,
        `p50 <= ${TARGET_COLD_P50_MS} ms: ${verdict(spareCreateExec.p50Ms <= TARGET_COLD_P50_MS)}`,
      ),
    );
    console.log(
      row(
        'airlock cold from warm pool: create + exec',
        pooledCreateExec,
        `p50 <= ${TARGET_COLD_P50_MS} ms: ${verdict(pooledCreateExec.p50Ms <= TARGET_COLD_P50_MS)}`,
      ),
    );
    console.log(row('airlock cold: destroy', coldDestroy));
    console.log(row('airlock cold: create + exec + destroy', coldTotal));
    console.log(
      row(
        "airlock warm: exec('true') in a live sandbox",
        warm,
        `<= ${TARGET_WARM_RATIO}x bare bash: ${verdict(warmVsBash <= TARGET_WARM_RATIO)}`,
      ),
    );
    console.log(row('  of which exec() durationMs', warmReported));

    const ratio = (a: Summary, b: Summary): string =>
      `${(a.p50Ms / b.p50Ms).toFixed(2)}x p50, ${(a.meanMs / b.meanMs).toFixed(2)}x mean`;
    console.log(`\nRatios`);
    console.log(`  warm / bare sh spawn          ${ratio(warm, bareSh)}   (target <= ${TARGET_WARM_RATIO}x)`);
    console.log(
      `  warm / bare bash spawn        ${ratio(warm, bareBash)}   (target <= ${TARGET_WARM_RATIO}x; the fair one)`,
    );
    console.log(`  cold (nothing ahead) / bare bash    ${ratio(coldCreateExec, bareBash)}`);
    console.log(`  cold (nothing ahead) / raw bwrap    ${ratio(coldCreateExec, rawBwrap)}`);
    console.log(`  cold (spare launcher) / bare bash   ${ratio(spareCreateExec, bareBash)}`);
    console.log(`  cold (spare launcher) / raw bwrap   ${ratio(spareCreateExec, rawBwrap)}`);

    await measureMemory(driver, created);
  } finally {
    await Promise.allSettled([...created].map((sandbox) => sandbox.destroy()));
    rmSync(stateDir, { recursive: true, force: true });
  }
}
