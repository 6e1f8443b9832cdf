/**
 * `airlock cp` against a real server on 127.0.0.1: a local project into a session and back out, with
 * symlinks and secrets noted on the way in and the export checks' notes on the way out.
 */
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
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import { startServer } from '../api/sdk-support.ts';
import { bwrapMissing } from './cli-process.ts';

describe.skipIf(bwrapMissing)('airlock cp', () => {
  it(
    'copies a project in and a directory out, noting what stays out each way',
    { timeout: 60_000 },
    async () => {
      const { url, adminToken, admin } = await startServer({
        config: { router: { approvalRequiredFor: [] } },
      });
      const dir = mkdtempSync(join(tmpdir(), 'airlock-cp-'));
      try {
        const project = join(dir, 'project');
        mkdirSync(join(project, 'src'), { recursive: true });
        writeFileSync(join(project, 'src', 'app.py'), 'print(1)\n');
        writeFileSync(join(project, '.env'), 'TOKEN=abcdefgh12345678\n');
        symlinkSync('/etc/passwd', join(project, 'passwd'));
        const session = await admin.sessions.create({ policy: 'permissive' });
        const env = { AIRLOCK_TOKEN: adminToken, HOME: dir };
        const copyIn = await runCli(['cp', '--url', url, project, `${session.id}:/workspace`], {
          cwd: dir,
          env,
        });
        expect(copyIn.exitCode).toBe(0);
        expect(copyIn.stdout).toMatch(/copied 2 files/);
        expect(copyIn.stderr).toMatch(/left out passwd: a symlink/);
        expect(copyIn.stderr).toMatch(/\.env looks like a secret/);
        await session.run('echo more >> src/app.py && mkfifo src/pipe; ln -s /etc src/etc');
        const copyOut = await runCli(['cp', '--url', url, `${session.id}:/workspace/src`, join(dir, 'out')], {
          cwd: dir,
          env,
        });
        expect(copyOut.exitCode).toBe(0);
        expect(readFileSync(join(dir, 'out', 'app.py'), 'utf8')).toBe('print(1)\nmore\n');
        expect(copyOut.stderr).toMatch(/left out etc: a symbolic link/);
        expect(existsSync(join(dir, 'out', 'etc'))).toBe(false);
        const usage = await runCli(['cp', '--url', url, project, join(dir, 'elsewhere')], { cwd: dir, env });
        expect(usage.exitCode).toBe(2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
