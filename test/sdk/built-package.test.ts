/**
 * The SDK as people install it: the compiled JavaScript and type definitions in build/sdk (made by
 * `npm ci`'s prepare step), imported by package name from a project of its own, on Node 20 and Node 24
 * and through a bundler, each making real calls to a real server on 127.0.0.1.
 */
import { execFile, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../api/sdk-support.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const node20 = '/usr/bin/node';
const node24 = join(root, 'node_modules', '.bin', 'node');
const hasNode20 =
  existsSync(node20) && spawnSync(node20, ['--version'], { encoding: 'utf8' }).stdout.startsWith('v20.');

/** What the consumer's script does: a session, a command with env and a live callback, then the end. */
const consumerScript = `
import { AirlockClient, isAirlockApiError } from '@airlock-sh/airlock/sdk';
const [url, token] = process.argv.slice(2);
const client = new AirlockClient({ url, token });
const session = await client.sessions.create();
const lines = [];
const result = await session.run('echo "$WHO"; cat', {
  env: { WHO: 'consumer' },
  stdin: 'from stdin',
  onStdout: (text) => lines.push(text),
});
let refused = null;
try {
  await session.run('ls', { envs: {} });
} catch (error) {
  refused = isAirlockApiError(error) ? error.code : String(error);
}
const ended = await session.destroy();
console.log(JSON.stringify({ status: result.status, stdout: result.stdout, lines, refused, state: ended.state }));
`;

let project: string;

beforeAll(() => {
  // The build the package's export points at; prepare made it at install, this keeps it current.
  const built = spawnSync(node24, [join(root, 'scripts', 'build-sdk.mjs')], { encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  // A project of its own with the package installed (as npm links a local dependency).
  project = mkdtempSync(join(tmpdir(), 'airlock-sdk-consumer-'));
  mkdirSync(join(project, 'node_modules', '@airlock-sh'), { recursive: true });
  symlinkSync(root, join(project, 'node_modules', '@airlock-sh', 'airlock'), 'dir');
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  writeFileSync(join(project, 'consumer.mjs'), consumerScript);
}, 120_000);

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

/**
 * Runs a script with another Node, without blocking this process: the server it calls runs here.
 * Resolves with its output, whatever its exit.
 */
async function runNode(
  nodePath: string,
  script: string,
  args: string[],
): Promise<{ stdout: string; stderr: string }> {
  try {
    return await promisify(execFile)(nodePath, [script, ...args], {
      cwd: project,
      timeout: 60_000,
      encoding: 'utf8',
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string; message: string };
    return { stdout: failed.stdout ?? '', stderr: failed.stderr || failed.message };
  }
}

function expectWorked(stdout: string): void {
  const outcome = JSON.parse(stdout.trim()) as Record<string, unknown>;
  expect(outcome).toEqual({
    status: 'completed',
    stdout: 'consumer\nfrom stdin',
    lines: ['consumer\n', 'from stdin'],
    refused: 'INVALID_ARGUMENT',
    state: 'ended',
  });
}

describe('the SDK as an installed package', () => {
  it.skipIf(!hasNode20)('works on Node 20, which cannot load TypeScript source', async () => {
    const { url, adminToken } = await startServer();
    const run = await runNode(node20, join(project, 'consumer.mjs'), [url, adminToken]);
    expect(run.stderr).toBe('');
    expectWorked(run.stdout);
  });

  it('works on Node 24', async () => {
    const { url, adminToken } = await startServer();
    const run = await runNode(node24, join(project, 'consumer.mjs'), [url, adminToken]);
    expect(run.stderr).toBe('');
    expectWorked(run.stdout);
  });

  it('bundles for the browser with nothing but fetch: no node: module, no require', async () => {
    const bundled = await build({
      entryPoints: [join(project, 'consumer.mjs')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      absWorkingDir: project,
      logLevel: 'silent',
    });
    const [output] = bundled.outputFiles;
    expect(output).toBeDefined();
    const text = output?.text ?? '';
    expect(text).not.toMatch(/\bfrom ["']node:|require\(["']/);
    expect(text).toContain('AirlockClient = class');
    // And the bundle runs (Node 24 stands in for a browser: the bundle uses only web APIs).
    writeFileSync(join(project, 'bundle.mjs'), text);
    const { url, adminToken } = await startServer();
    const run = await runNode(node24, join(project, 'bundle.mjs'), [url, adminToken]);
    expect(run.stderr).toBe('');
    expectWorked(run.stdout);
  });

  it('ships type definitions a project without Node types can compile against', () => {
    writeFileSync(
      join(project, 'typed.ts'),
      `import { AirlockClient, type RunResult, type AirlockErrorCode } from '@airlock-sh/airlock/sdk';
const client = new AirlockClient({ url: 'http://127.0.0.1:7400', token: 't' });
export async function go(): Promise<RunResult> {
  const session = await client.sessions.create({ policy: 'readonly' });
  return session.run('ls', { cwd: 'src', env: { A: 'b' }, onStdout: (line: string) => void line });
}
export const code: AirlockErrorCode = 'INVALID_ARGUMENT';
// @ts-expect-error an option the SDK does not have is a type error too
export const wrong = () => client.sessions.create().then((s) => s.run('ls', { envs: {} }));
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: [],
        },
        files: ['typed.ts'],
      }),
    );
    const checked = spawnSync(
      node24,
      [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(project, 'tsconfig.json')],
      { encoding: 'utf8', cwd: project },
    );
    expect(checked.stdout + checked.stderr).toBe('');
    expect(checked.status).toBe(0);
    expect(readFileSync(join(root, 'build', 'sdk', 'index.d.ts'), 'utf8')).toContain('AirlockClient');
  });
});
