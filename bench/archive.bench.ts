/**
 * A project in and out of a session: a 10,000-file, 100 MB tree copied into /workspace (packed on the
 * host as it is read, checked as it arrives, streamed into the sandbox's tar, which unpacks it into a
 * staging directory while the rest is checked, moved into place once all passed) and back out (packed
 * in the sandbox, export checks, unpacked on the host), each beside host `tar` copying the same tree in the same run
 * (`tar -cf` then `tar -xf` into a fresh directory). Target: within 2x of host tar each way. The sandbox's
 * tar runs under the session's CPU limit (sandbox.cpus, half a core by default) and host tar under none:
 * each copy is also timed in a session given one core, to show what that limit costs.
 * Each timed step starts after `sync`, so writes left over from the step before are not charged to it.
 * The copy out is streamed (unpacked on the host into a staging directory as it is checked, moved into
 * place once whole): its line also says when the export itself was done, and how long the rest took. With
 * TMPDIR on a tmpfs, the disk drops out of both sides and what is left is CPU.
 * The library's copies run in this process; the same copies are then timed the way `airlock cp` makes
 * them, through the SDK to `airlock serve` in its own process (HTTP on loopback, a third process
 * sharing the cores, and the archive parsed on both sides of the connection).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAirlock, type Session } from '../src/index.ts';
import { packDirectoryStream, unpackWhole } from '../src/local-tree/index.ts';
import { AirlockClient } from '../src/sdk/index.ts';
import { downloadDirectory, uploadDirectory } from '../src/sdk-node/index.ts';
import { startServe, stop, TOKEN } from './cluster-serve.ts';
import { formatMs } from './stats.ts';

const FILES = 10_000;
const FILE_BYTES = 10 * 1024;
const ROUNDS = 3;

function makeTree(root: string): void {
  // Text, as a project's source is (no gzip is used, so compressibility flatters neither side). Every
  // file is redacted on the way out like any output; binary files cost the redactor more.
  const block = Buffer.from(randomBytes(FILE_BYTES * 12).toString('base64'));
  for (let index = 0; index < FILES; index += 1) {
    const dir = join(root, `pkg${index % 100}`, `mod${index % 10}`);
    if (index < 1000) mkdirSync(dir, { recursive: true });
    const offset = (index * 977) % (block.length - FILE_BYTES);
    writeFileSync(join(dir, `file${index}.ts`), block.subarray(offset, offset + FILE_BYTES));
  }
}

function hostTar(args: string[]): void {
  const result = spawnSync('tar', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`tar ${args.join(' ')} failed: ${String(result.stderr)}`);
}

/** Writes still pending from the step before go to disk now, not during the next timed step. */
function settleDisk(): void {
  spawnSync('sync', [], { stdio: 'ignore' });
}

interface CopyRounds {
  readonly in: number[];
  readonly out: number[];
  readonly exported: number[];
  readonly unpacked: number[];
}

const emptyRounds = (): CopyRounds => ({ in: [], out: [], exported: [], unpacked: [] });

/** One copy of `tree` into the session's /workspace and back out to `back`, timed into `into`. */
async function copyRound(session: Session, tree: string, back: string, into: CopyRounds): Promise<void> {
  settleDisk();
  let started = performance.now();
  // Streamed, as `airlock cp` and `--workspace` copy: packed as read, checked as it arrives.
  const packed = packDirectoryStream(tree);
  const copied = await session.files.putArchive('/workspace', packed.tar, { operator: true });
  await packed.summary;
  into.in.push(performance.now() - started);
  if (copied.files !== FILES) throw new Error(`copied ${copied.files} files, not ${FILES}`);
  settleDisk();
  started = performance.now();
  // Streamed, as `airlock cp` copies out: unpacked as it is checked, moved into place once whole.
  const out = await session.files.streamArchive('/workspace');
  let exported = 0;
  void out.summary.then(() => (exported = performance.now()));
  const written = await unpackWhole(back, out.stream);
  await out.summary;
  into.out.push(performance.now() - started);
  into.exported.push(exported - started);
  into.unpacked.push(performance.now() - exported);
  if (written.files !== FILES) throw new Error(`wrote back ${written.files} files, not ${FILES}`);
  rmSync(back, { recursive: true });
}

/** The bench's sandbox limits, for `airlock serve` as for the library. */
const serveYaml = `sandbox:
  memory: 1g
  scratch: 400m
  pids: 64
  timeout: 10m
router:
  approvalRequiredFor: []
  rateLimit: 1000000/min
server:
  rateLimit: 1000000/min
`;

/**
 * The same copies the way \`airlock cp\` makes them: the SDK over HTTP to \`airlock serve\` in its own
 * process, so packing (in) and unpacking (out) on this side run beside the server's checks.
 */
async function serveRounds(tree: string, work: string, rounds: number): Promise<CopyRounds> {
  const into = emptyRounds();
  const serve = await startServe(serveYaml);
  try {
    const client = new AirlockClient({ url: serve.url, token: TOKEN });
    for (let round = 0; round < rounds; round += 1) {
      const session = await client.sessions.create({ policy: 'permissive' });
      try {
        settleDisk();
        let started = performance.now();
        const copied = await uploadDirectory(session.files, tree, '/workspace');
        into.in.push(performance.now() - started);
        if (copied.files !== FILES) throw new Error(`copied ${copied.files} files over HTTP, not ${FILES}`);
        settleDisk();
        const back = join(work, `serve-out-${round}`);
        started = performance.now();
        const written = await downloadDirectory(session.files, '/workspace', back);
        into.out.push(performance.now() - started);
        if (written.written.length !== FILES)
          throw new Error(`wrote back ${written.written.length} files over HTTP, not ${FILES}`);
        rmSync(back, { recursive: true });
      } finally {
        await session.destroy();
      }
    }
  } finally {
    await stop(serve);
  }
  return into;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

export async function runArchiveBench(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'airlock-archive-bench-'));
  const home = join(work, 'home');
  mkdirSync(home);
  const airlock = await createAirlock({
    crossCheck: false,
    home,
    env: { HOME: home },
    config: {
      sandbox: { memory: '1g', scratch: '400m', pids: 64, timeout: '10m' },
      router: { approvalRequiredFor: [], rateLimit: '1000000/min' },
    },
  });
  try {
    const tree = join(work, 'tree');
    makeTree(tree);
    const times = {
      hostIn: [] as number[],
      hostOut: [] as number[],
      default: emptyRounds(),
      oneCore: emptyRounds(),
    };
    let defaultCpus = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      // Host baseline: the same tree through tar, into a fresh directory, twice (in, then out).
      const archive = join(work, `host-${round}.tar`);
      settleDisk();
      let started = performance.now();
      hostTar(['-cf', archive, '-C', tree, '.']);
      const hostDest = join(work, `host-in-${round}`);
      mkdirSync(hostDest);
      hostTar(['-xf', archive, '-C', hostDest]);
      times.hostIn.push(performance.now() - started);
      settleDisk();
      started = performance.now();
      hostTar(['-cf', `${archive}.out`, '-C', hostDest, '.']);
      const hostBack = join(work, `host-out-${round}`);
      mkdirSync(hostBack);
      hostTar(['-xf', `${archive}.out`, '-C', hostBack]);
      times.hostOut.push(performance.now() - started);
      rmSync(hostDest, { recursive: true });
      rmSync(hostBack, { recursive: true });
      rmSync(archive);
      rmSync(`${archive}.out`);

      for (const [cpus, into] of [
        [undefined, times.default],
        [1, times.oneCore],
      ] as const) {
        const session = await airlock.sessions.create({ policy: 'permissive', ...(cpus ? { cpus } : {}) });
        if (cpus === undefined) defaultCpus = (await session.info()).limits.cpus;
        try {
          await copyRound(session, tree, join(work, `airlock-out-${round}`), into);
        } finally {
          await session.destroy();
        }
      }
    }
    const served = await serveRounds(tree, work, ROUNDS);
    const line = (label: string, value: number, baseline: number): void =>
      console.log(
        `  ${label.padEnd(40)} ${formatMs(value).padStart(9)} ms   ${(value / baseline).toFixed(2)}x host tar`,
      );
    console.log(
      `Archive bench: ${FILES} files, ${(FILES * FILE_BYTES) / 1048576} MiB, median of ${ROUNDS} (bwrap)`,
    );
    const hostIn = median(times.hostIn);
    const hostOut = median(times.hostOut);
    console.log(`  ${'host tar -cf + -xf (in)'.padEnd(40)} ${formatMs(hostIn).padStart(9)} ms   baseline`);
    console.log(`  ${'host tar -cf + -xf (out)'.padEnd(40)} ${formatMs(hostOut).padStart(9)} ms   baseline`);
    for (const [label, rounds] of [
      ['', times.default],
      [', sandbox.cpus 1', times.oneCore],
    ] as const) {
      line(`copy in${label}`, median(rounds.in), hostIn);
      line(`copy out${label}`, median(rounds.out), hostOut);
      console.log(
        `    export (pack, check, redact) done after ${formatMs(median(rounds.exported))} ms, unpacked on the host as it came; ${formatMs(median(rounds.unpacked))} ms more to finish and move it into place`,
      );
    }
    line('copy in, airlock cp (SDK over HTTP)', median(served.in), hostIn);
    line('copy out, airlock cp (SDK over HTTP)', median(served.out), hostOut);
    console.log(
      `  (copy in: packed on the host, checked, unpacked by the sandbox's tar; copy out: packed by the sandbox's tar, checked, unpacked on the host. The sandbox's tar runs under the session's CPU limit, ${defaultCpus} core by default; host tar under none: the second pair gives the session one core)`,
    );
  } finally {
    await airlock.close();
    rmSync(work, { recursive: true, force: true });
  }
}
