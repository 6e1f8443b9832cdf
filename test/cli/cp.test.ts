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
import { eventually, startServer } from '../api/sdk-support.ts';
import { tarOf } from '../api/archive-support.ts';
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

  it(
    'copies a tar file in, and with --protected ask copies a changed CI workflow out once a person approves',
    { timeout: 60_000 },
    async () => {
      const { url, adminToken, admin } = await startServer({
        config: { router: { approvalRequiredFor: [], approvalTimeout: '30s' } },
      });
      const dir = mkdtempSync(join(tmpdir(), 'airlock-cp-'));
      try {
        const tarFile = join(dir, 'project.tar');
        writeFileSync(tarFile, await tarOf([{ name: 'README.md', body: 'hello\n' }]));
        const session = await admin.sessions.create({ policy: 'permissive' });
        const env = { AIRLOCK_TOKEN: adminToken, HOME: dir };
        const copyIn = await runCli(['cp', '--url', url, tarFile, `${session.id}:/workspace`], {
          cwd: dir,
          env,
        });
        expect(copyIn.exitCode).toBe(0);
        expect(copyIn.stdout).toMatch(/copied 1 files/);
        await session.run('mkdir -p .github/workflows && echo "on: push" > .github/workflows/ci.yml');
        // Without asking, the changed workflow stays in the sandbox with a note.
        const leftOut = await runCli(['cp', '--url', url, `${session.id}:/workspace`, join(dir, 'plain')], {
          cwd: dir,
          env,
        });
        expect(leftOut.exitCode).toBe(0);
        expect(leftOut.stderr).toMatch(/left out \.github\/workflows\/ci\.yml: .*protected path/);
        expect(existsSync(join(dir, 'plain', '.github', 'workflows', 'ci.yml'))).toBe(false);
        const approve = (async () => {
          const pending = await eventually(async () => {
            const [first] = await admin.approvals.list({ status: 'pending', sessionId: session.id });
            return first;
          }, 20_000);
          if (pending === undefined) throw new Error('no approval was asked for');
          await admin.approvals.approve(pending.id, { reason: 'the workflow change is reviewed' });
        })();
        const asked = runCli(
          ['cp', '--url', url, '--protected', 'ask', `${session.id}:/workspace`, join(dir, 'asked')],
          { cwd: dir, env },
        );
        const [copyOut] = await Promise.all([asked, approve]);
        expect(copyOut.exitCode).toBe(0);
        expect(copyOut.stderr).toMatch(/wait for a person/);
        expect(readFileSync(join(dir, 'asked', '.github', 'workflows', 'ci.yml'), 'utf8')).toBe('on: push\n');
        const badMode = await runCli(
          ['cp', '--url', url, '--protected', 'always', `${session.id}:/workspace`, join(dir, 'x')],
          { cwd: dir, env },
        );
        expect(badMode.exitCode).not.toBe(0);
        expect(badMode.stderr).toMatch(/leave-out, ask/);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
