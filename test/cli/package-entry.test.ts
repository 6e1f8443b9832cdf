import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

describe('package entry points', () => {
  it('exposes the sandbox drivers, the policy engine and the error root from src/index.ts', async () => {
    const airlock = await import('../../src/index.ts');
    expect(typeof airlock.createDriver).toBe('function');
    expect(typeof airlock.createPolicyEngine).toBe('function');
    expect(airlock.loadPolicy({ preset: 'readonly' }).origin).toBe('preset:readonly');
    expect(new airlock.AirlockError('NOT_FOUND', 'x').code).toBe('NOT_FOUND');
  });

  it('exposes the sandbox surface from src/sandbox/index.ts', async () => {
    const sandbox = await import('../../src/sandbox/index.ts');
    // Creating a driver starts nothing: each one checks its prerequisites on first use.
    for (const name of ['bwrap', 'gvisor', 'docker'] as const)
      expect(sandbox.createDriver(name).name).toBe(name);
    expect(typeof sandbox.buildBaseImage).toBe('function');
  });

  it('exposes the HTTP client as @airlock-sh/airlock/sdk', async () => {
    const sdk = await import('@airlock-sh/airlock/sdk');
    const client = new sdk.AirlockClient({ url: 'http://127.0.0.1:1', token: 't' });
    expect(typeof client.sessions.create).toBe('function');
  });

  it.skipIf(!existsSync('/usr/bin/node'))(
    'runs under an older Node on PATH by handing over to the bundled one',
    () => {
      const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));
      const result = spawnSync('/usr/bin/node', [bin, '--version'], { encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout.trim()).toBe('0.1.0');
    },
  );

  it('tells MCP clients to start this checkout by path, never a registry package by name', () => {
    const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'mcp', '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`{ "command": ${JSON.stringify(bin)}, "args": ["mcp"] }`);
    expect(result.stdout).not.toContain('"command": "npx"');
  });

  it('names a package that the npm registry cannot confuse with another', async () => {
    const { readFileSync } = await import('node:fs');
    const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      name: string;
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    // A scoped name: "airlock" alone belongs to an unrelated package on the registry.
    expect(manifest.name).toBe('@airlock-sh/airlock');
    expect(manifest.bin.airlock).toBe('bin/airlock.js');
    // An npm script does not see the package's own bin on its PATH: npm start runs the file, and
    // `exec` makes it npm's own child, so a SIGTERM npm passes on reaches the server (see serve.test.ts).
    expect(manifest.scripts.start).toMatch(/^exec node bin\/airlock\.js serve/);
  });
});
