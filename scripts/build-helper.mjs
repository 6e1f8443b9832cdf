#!/usr/bin/env node
// Builds the sandbox helper (native/*.c) into build/airlock-helper at install time.
// Why a native helper: the in-sandbox supervisor must start in well under a millisecond and run in any
// rootfs, so it is a static C binary, not a Node process. A missing compiler is not an install error:
// the bwrap driver then refuses to start (SANDBOX_UNAVAILABLE) and names this script.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native');
const output = join(root, 'build', 'airlock-helper');
const force = process.argv.includes('--force');

if (!existsSync(nativeDir)) process.exit(0);
// Every .c of native/ is part of the helper; native/fuzz/ holds the fuzz harness, built by its test.
const names = readdirSync(nativeDir).sort();
const sources = names.filter((name) => name.endsWith('.c')).map((name) => join(nativeDir, name));
const inputs = names.filter((name) => /\.[ch]$/.test(name)).map((name) => join(nativeDir, name));
if (sources.length === 0) process.exit(0);
const newestInput = Math.max(...inputs.map((path) => statSync(path).mtimeMs));
if (!force && existsSync(output) && statSync(output).mtimeMs >= newestInput) process.exit(0);

mkdirSync(dirname(output), { recursive: true });
const compiler = process.env.CC ?? 'cc';
// Static so the same binary runs inside any rootfs image, whatever libc it has (or none).
const args = ['-O2', '-static', '-Wall', '-Wextra', '-Werror', '-o', output, ...sources];
const result = spawnSync(compiler, args, { stdio: 'inherit', shell: false });
if (result.error || result.status !== 0) {
  const why = result.error ? result.error.message : `exit ${result.status}`;
  process.stderr.write(
    `airlock: could not build the sandbox helper (${compiler}: ${why}).\n` +
      `  Install a C compiler and static libc (Debian: apt-get install gcc libc6-dev), then run: npm run build:helper\n`,
  );
  process.exit(force ? 1 : 0);
}
