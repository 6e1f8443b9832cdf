#!/usr/bin/env node
// Airlock's sources are TypeScript run through Node's built-in type stripping, which is on by
// default from Node 22.18 / 23.6. An older Node (the one on PATH when an MCP client or a shell starts
// this file from outside the project) hands over to the Node 24 the project installs, if present.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const tooOld = major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6);

if (!tooOld) {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv);
} else {
  const bundled = fileURLToPath(new URL('../node_modules/node/bin/node', import.meta.url));
  // The marker stops a loop if the bundled Node were itself too old.
  if (!existsSync(bundled) || process.env.AIRLOCK_BUNDLED_NODE === '1') {
    process.stderr.write(
      `airlock: Node ${process.versions.node} is too old; Airlock needs Node >= 22.18 ` +
        `(run npm ci in the project to install the bundled Node 24).\n`,
    );
    process.exit(1);
  }
  const child = spawn(bundled, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, AIRLOCK_BUNDLED_NODE: '1' },
  });
  // A signal sent to this pid (a supervisor, an MCP client, `kill`) is passed on. A terminal's Ctrl-C
  // reaches both processes, so the child may see it twice; commands that act on a second Ctrl-C
  // treat two copies within a moment as one.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('error', (error) => {
    process.stderr.write(`airlock: cannot start the bundled Node (${bundled}): ${error.message}\n`);
    process.exitCode = 1;
  });
  child.on('exit', (code, signal) => {
    process.exitCode = code ?? 128 + (signal === null ? 0 : (constants.signals[signal] ?? 0));
  });
}
