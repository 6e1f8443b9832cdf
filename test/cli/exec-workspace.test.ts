/**
 * `airlock exec --workspace DIR [--write-back] [--all]` on bwrap: the project goes in honouring
 * .gitignore, a summary of changes comes out, and write-back carries only what passes the export checks.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { bwrapMissing } from './cli-process.ts';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});

function project(): { home: string; dir: string } {
  const home = mkdtempSync(join(tmpdir(), 'airlock-exec-ws-'));
  homes.push(home);
  const dir = join(home, 'project');
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, '.gitignore'), 'build/\n*.log\n');
  writeFileSync(join(dir, 'src', 'app.py'), 'print("v1")\n');
  writeFileSync(join(dir, 'src', '.gitignore'), 'local.txt\n');
  writeFileSync(join(dir, 'src', 'local.txt'), 'mine\n');
  writeFileSync(join(dir, 'build', 'out.bin'), 'old build\n');
  writeFileSync(join(dir, 'debug.log'), 'noise\n');
  writeFileSync(join(dir, 'README.md'), '# p\n');
  symlinkSync('/etc/passwd', join(dir, 'passwd'));
  return { home, dir };
}

const exec = (home: string, args: string[]) =>
  runCli(['exec', '--policy', 'permissive', ...args], {
    cwd: home,
    env: { HOME: home, AIRLOCK_HOME: join(home, 'state') },
  });

describe.skipIf(bwrapMissing)('airlock exec --workspace', () => {
  it(
    'copies the project in honouring .gitignore, and only summarises changes without --write-back',
    { timeout: 60_000 },
    async () => {
      const { home, dir } = project();
      const run = await exec(home, [
        '--workspace',
        dir,
        '--',
        'find . -type f | sort; echo v2 > src/app.py; echo new > new.txt; rm README.md',
      ]);
      expect(run.exitCode).toBe(0);
      const seen = run.stdout.split('\n');
      expect(seen).toEqual(expect.arrayContaining(['./src/app.py', './README.md', './.gitignore']));
      for (const ignored of ['./build/out.bin', './debug.log', './src/local.txt', './passwd'])
        expect(seen).not.toContain(ignored);
      expect(run.stderr).toMatch(/left out passwd: a symlink/);
      expect(run.stderr).toMatch(/1 changed, 1 added, 1 deleted/);
      expect(run.stderr).toMatch(/M src\/app\.py/);
      // Nothing written back without --write-back.
      expect(readFileSync(join(dir, 'src', 'app.py'), 'utf8')).toBe('print("v1")\n');
      expect(existsSync(join(dir, 'new.txt'))).toBe(false);
    },
  );

  it('writes back what passes the export checks, and holds back the rest', { timeout: 60_000 }, async () => {
    const { home, dir } = project();
    const run = await exec(home, [
      '--workspace',
      dir,
      '--write-back',
      '--',
      'echo v2 > src/app.py; echo new > new.txt; rm README.md; mkdir -p .github/workflows; echo evil > .github/workflows/ci.yml; ' +
        'ln -s /etc/shadow shadow; mkdir -p build; echo fresh > build/out.bin',
    ]);
    expect(run.exitCode).toBe(0);
    expect(readFileSync(join(dir, 'src', 'app.py'), 'utf8')).toBe('v2\n');
    expect(readFileSync(join(dir, 'new.txt'), 'utf8')).toBe('new\n');
    expect(existsSync(join(dir, 'README.md'))).toBe(true);
    expect(existsSync(join(dir, '.github'))).toBe(false);
    expect(run.stderr).toMatch(/not written back \.github\/workflows\/ci\.yml: a protected path/);
    expect(existsSync(join(dir, 'shadow'))).toBe(false);
    // An ignored path stays in the sandbox: the host's build output is untouched.
    expect(readFileSync(join(dir, 'build', 'out.bin'), 'utf8')).toBe('old build\n');
    expect(lstatSync(join(dir, 'passwd')).isSymbolicLink()).toBe(true);
  });

  it(
    'copies ignored files too with --all, and refuses --write-back without --workspace',
    { timeout: 60_000 },
    async () => {
      const { home, dir } = project();
      const run = await exec(home, ['--workspace', dir, '--all', '--', 'cat build/out.bin debug.log']);
      expect(run.stdout).toBe('old build\nnoise\n');
      const usage = await exec(home, ['--write-back', '--', 'true']);
      expect(usage.exitCode).toBe(2);
    },
  );
});
