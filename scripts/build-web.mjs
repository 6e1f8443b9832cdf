#!/usr/bin/env node
// Builds the dashboard (web/) into web/dist at install time, so a fresh clone's `npm ci` serves it at /
// with `npm start`. The build is not committed: it is made from the sources here, offline, by Vite.
// Without the dev dependencies (`npm ci --omit=dev`) there is nothing to build with: that is not an
// install error, the server then answers / with how to build it (`npm run build:web`).
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const webDir = join(root, 'web');
const index = join(webDir, 'dist', 'index.html');
const force = process.argv.includes('--force');

/** Newest modification time under a directory (the sources, and the SDK the dashboard bundles). */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

if (!existsSync(join(webDir, 'index.html'))) process.exit(0);
const inputs = Math.max(
  newest(join(webDir, 'src')),
  newest(join(root, 'src', 'sdk')),
  statSync(join(webDir, 'index.html')).mtimeMs,
);
if (!force && existsSync(index) && statSync(index).mtimeMs >= inputs) process.exit(0);

let vite;
try {
  vite = await import('vite');
} catch {
  process.stderr.write(
    'airlock: the dashboard is not built (Vite is a dev dependency); run npm ci, then npm run build:web\n',
  );
  process.exit(force ? 1 : 0);
}
try {
  await vite.build({ configFile: join(webDir, 'vite.config.ts'), logLevel: 'warn' });
} catch (error) {
  process.stderr.write(
    `airlock: building the dashboard failed: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  process.exit(1);
}
