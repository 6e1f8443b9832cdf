/**
 * Fuzzes the supervisor's request parsing (native/frames.c) with libFuzzer, AddressSanitizer and
 * UBSan: a short run here (AIRLOCK_FUZZ_SECONDS, default 15), a longer one by hand, e.g.
 * `AIRLOCK_FUZZ_SECONDS=3600 npx vitest run test/fuzz`. Needs clang and its libFuzzer runtime
 * (Debian: clang, libclang-rt-dev); without them the test is skipped with the reason, and CI
 * (AIRLOCK_REQUIRE_FUZZ=1) fails instead.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import {
  encodeExec,
  encodeFrame,
  encodeList,
  encodeReadFile,
  encodeResize,
  encodeWriteFile,
  requestTypes,
} from '../../src/sandbox/supervisor/protocol.ts';

const nativeDir = fileURLToPath(new URL('../../native/', import.meta.url));
/** The harness and any crashing input it finds stay here (git-ignored), to replay by hand. */
const buildDir = fileURLToPath(new URL('../../build/fuzz/', import.meta.url));
/** Inputs that once crashed the harness: replayed first in every run, so a fixed bug stays fixed. */
const regressionsDir = fileURLToPath(new URL('./regressions/', import.meta.url));
const fuzzSeconds = Number(process.env['AIRLOCK_FUZZ_SECONDS'] ?? 15);
const required = process.env['AIRLOCK_REQUIRE_FUZZ'] === '1';

/** Why the harness cannot be built here, or undefined when it can. */
function unavailable(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (spawnSync('clang', ['--version']).error)
    return 'clang is not installed (Debian: apt-get install clang libclang-rt-dev)';
  const runtime = spawnSync('clang', ['-print-runtime-dir'], { encoding: 'utf8' }).stdout.trim();
  const hasFuzzer = existsSync(runtime) && readdirSync(runtime).some((name) => name.includes('fuzzer'));
  return hasFuzzer
    ? undefined
    : "clang's libFuzzer runtime is missing (Debian: apt-get install libclang-rt-dev)";
}

const reason = unavailable();
const workDir = mkdtempSync(join(tmpdir(), 'airlock-fuzz-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Valid requests of every type, so the fuzzer starts from frames the parser accepts. */
function writeSeeds(corpus: string): number {
  const exec = encodeExec({
    executable: '/usr/bin/bash',
    argv: ['/usr/bin/bash', '-c', 'echo hi'],
    env: { PATH: '/usr/bin', LANG: 'C.UTF-8' },
    cwd: '/workspace',
    timeoutMs: 30_000,
    stdin: Buffer.from('input\n'),
  });
  const ptyExec = encodeExec({
    executable: '/usr/bin/bash',
    argv: ['/usr/bin/bash', '-i'],
    env: {},
    cwd: '/workspace',
    timeoutMs: 60_000,
    stdin: Buffer.alloc(0),
    pty: { cols: 1000, rows: 1 },
  });
  const seeds = [
    encodeFrame(requestTypes.exec, 1, exec),
    encodeFrame(requestTypes.exec, 10, ptyExec),
    encodeFrame(requestTypes.input, 10, Buffer.from('ls\r')),
    encodeFrame(requestTypes.input, 10, Buffer.alloc(0)),
    encodeFrame(requestTypes.resize, 10, encodeResize(132, 43)),
    encodeFrame(requestTypes.kill, 1),
    encodeFrame(requestTypes.readFile, 2, encodeReadFile('/workspace/notes.md', 1 << 20)),
    encodeFrame(requestTypes.writeFile, 3, encodeWriteFile('/tmp/a/b', 0o644, 1, Buffer.from('data'))),
    encodeFrame(requestTypes.list, 4, encodeList('/workspace', 10_000)),
    Buffer.concat([
      encodeFrame(requestTypes.list, 5, encodeList('/', 1)),
      encodeFrame(requestTypes.exec, 6, exec),
    ]),
    // Paths at the length limits (PATH_MAX is 4096), where an off-by-one would write past a buffer.
    encodeFrame(requestTypes.list, 7, encodeList(`/${'a'.repeat(4093)}`, 1)),
    encodeFrame(
      requestTypes.writeFile,
      8,
      encodeWriteFile(`/${'b'.repeat(4095)}`, 0o600, 0, Buffer.alloc(0)),
    ),
    encodeFrame(requestTypes.readFile, 9, encodeReadFile(`/${'c'.repeat(4094)}`, 1)),
  ];
  // Each as a stream (first byte even) and as a single request: odd, the type, then the payload.
  seeds.forEach((seed, index) => {
    writeFileSync(join(corpus, `stream-${index}`), Buffer.concat([Buffer.from([0]), seed]));
    writeFileSync(
      join(corpus, `request-${index}`),
      Buffer.concat([Buffer.from([1, seed[4]!]), seed.subarray(9)]),
    );
  });
  for (const name of readdirSync(regressionsDir)) {
    writeFileSync(join(corpus, `regression-${name}`), readFileSync(join(regressionsDir, name)));
  }
  return seeds.length;
}

describe('libFuzzer: supervisor request frames', () => {
  if (required && reason !== undefined) {
    it('can be built here (AIRLOCK_REQUIRE_FUZZ)', () => {
      throw new Error(`the helper's fuzz harness must run here but cannot: ${reason}`);
    });
  }

  it.skipIf(reason !== undefined)(
    `finds nothing in ${fuzzSeconds} s of arbitrary and mutated frames${reason ? ` (skipped: ${reason})` : ''}`,
    () => {
      mkdirSync(buildDir, { recursive: true });
      const harness = join(buildDir, 'frames-fuzz');
      const build = spawnSync(
        'clang',
        [
          '-g',
          '-O1',
          '-fsanitize=fuzzer,address,undefined',
          '-fno-sanitize-recover=undefined',
          `-I${nativeDir}`,
          join(nativeDir, 'fuzz', 'frames-fuzz.c'),
          join(nativeDir, 'frames.c'),
          join(nativeDir, 'util.c'),
          '-o',
          harness,
        ],
        { encoding: 'utf8' },
      );
      expect(build.status, build.stderr).toBe(0);
      const corpus = join(workDir, 'corpus');
      mkdirSync(corpus);
      expect(writeSeeds(corpus)).toBeGreaterThan(0);
      const run = spawnSync(
        harness,
        // Longer than the longest request a path can make (PATH_MAX plus headers), so every length
        // check is reached from both sides.
        [
          `-max_total_time=${fuzzSeconds}`,
          '-max_len=12288',
          '-len_control=0',
          '-timeout=10',
          '-rss_limit_mb=1024',
          `-artifact_prefix=${buildDir}`,
          corpus,
        ],
        { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const crash = /ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:/.exec(run.stderr);
      expect(crash, run.stderr.slice(-4000)).toBeNull();
      expect(run.status, run.stderr.slice(-4000)).toBe(0);
      // It really ran: a run that executed nothing must not count as finding nothing.
      const runs = Number(/Done (\d+) runs/.exec(run.stderr)?.[1] ?? 0);
      expect(runs).toBeGreaterThan(1000);
    },
    fuzzSeconds * 1000 + 120_000,
  );
});
