#!/usr/bin/env node
// Airlock's sources are TypeScript run through Node's built-in type stripping, which is on by
// default from Node 22.18 / 23.6; older Nodes would fail with a confusing syntax error instead.
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18) || (major === 23 && minor < 6)) {
  process.stderr.write(
    `airlock: Node ${process.versions.node} is too old; Airlock needs Node >= 22.18 ` +
      `(inside the project, npx and npm scripts use the bundled Node 24).\n`,
  );
  process.exit(1);
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
