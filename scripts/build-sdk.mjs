#!/usr/bin/env node
// Compiles the SDK (src/sdk) to JavaScript with type definitions in build/sdk, which the package's
// `./sdk` export points at: Node 20, browsers and bundlers cannot load TypeScript source. Run by
// `npm ci`/`npm install` (prepare) and `npm run build:sdk`; the output is not committed.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// A file removed from src/sdk must not linger in the package from an earlier build.
rmSync(join(root, 'build', 'sdk'), { recursive: true, force: true });
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.sdk.json')], {
  stdio: 'inherit',
  shell: false,
});
if (result.error || result.status !== 0) {
  console.error('build-sdk: compiling src/sdk failed (see above)');
  process.exit(1);
}
