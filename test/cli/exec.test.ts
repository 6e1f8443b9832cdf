import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));
const home = mkdtempSync(join(tmpdir(), 'airlock-cli-test-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs the CLI in-process, as a user would type it, capturing what it prints. */
function airlock(
  args: string[],
  options: { cwd?: string; closeOutputAfterFirstWrite?: boolean } = {},
): Promise<CliRun> {
  return runCli(args, {
    cwd: options.cwd ?? home,
    env: { HOME: home, AIRLOCK_HOME: join(home, 'state') },
    ...(options.closeOutputAfterFirstWrite ? { closeOutputAfterFirstWrite: true } : {}),
  });
}

describe('airlock --help (the installed entry point)', () => {
  it('prints usage through bin/airlock.js', () => {
    const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/Usage: airlock/);
    expect(result.stdout).toMatch(/exec/);
  });
});

describe('airlock exec: bad input', () => {
  it('exits 2, not 1, for an unknown flag or a missing command', async () => {
    const unknown = await airlock(['exec', '--bogus', '--', 'true']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--bogus'/);
    expect((await airlock(['exec'])).exitCode).toBe(2);
    expect((await airlock(['no-such-command'])).exitCode).toBe(2);
  });

  it('names the flag and the fix for an invalid size, and runs nothing', async () => {
    const result = await airlock(['exec', '--memory', 'lots', '--', 'touch /workspace/should-not-run']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--memory "lots" is not a size: use a number with a unit/);
    expect(
      result.stderr
        .trim()
        .split('\n')
        .filter((line) => !line.includes('warning')),
    ).toHaveLength(1);
  });

  it('refuses an unknown policy instead of running unchecked', async () => {
    const result = await airlock(['exec', '--policy', 'strict', '--', 'true']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/invalid policy strict/);
    expect(result.stderr).toMatch(/not a preset \(readonly, coding-agent, permissive\)/);
  });

  it('lists every bad key of an invalid airlock.yaml and does not fall back to defaults', async () => {
    const project = mkdtempSync(join(home, 'project-'));
    writeFileSync(join(project, 'airlock.yaml'), 'sandbox:\n  memroy: 1g\n  pids: many\n');
    const result = await airlock(['exec', '--', 'true'], { cwd: project });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/memroy/);
    expect(result.stderr).toMatch(/pids/);
  });
});

const canDropToNobody = process.getuid?.() === 0 && existsSync('/usr/bin/setpriv');

describe.skipIf(bwrapMissing || !canDropToNobody)('airlock exec without cgroup delegation', () => {
  it('refuses to run a command it cannot limit, and says how to fix it', () => {
    const bin = fileURLToPath(new URL('../../bin/airlock.js', import.meta.url));
    const nobodyHome = mkdtempSync(join(tmpdir(), 'airlock-nobody-'));
    // Nobody's home is nobody's own, as a user's is: exec keeps its audit log under AIRLOCK_HOME.
    chownSync(nobodyHome, 65534, 65534);
    try {
      const marker = join(nobodyHome, 'ran');
      const result = spawnSync(
        '/usr/bin/setpriv',
        [
          '--reuid',
          '65534',
          '--regid',
          '65534',
          '--clear-groups',
          process.execPath,
          bin,
          'exec',
          '--policy',
          'permissive',
          '--',
          `touch ${marker}`,
        ],
        {
          encoding: 'utf8',
          env: { HOME: nobodyHome, AIRLOCK_HOME: join(nobodyHome, 'state'), PATH: '/usr/bin:/bin' },
        },
      );
      expect(result.status).toBe(125);
      expect(result.stderr).toMatch(/cgroup/);
      expect(result.stderr).toMatch(/run as root, or set sandbox\.cgroupParent/);
      expect(existsSync(marker)).toBe(false);
    } finally {
      rmSync(nobodyHome, { recursive: true, force: true });
    }
  });
});

describe.skipIf(bwrapMissing)('airlock exec in a real sandbox', () => {
  it("runs the README Quickstart's exec example under the default policy", async () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const quickstart = /^npx airlock exec -- '([^']+)'/m.exec(readme);
    expect(quickstart?.[1]).toBeDefined();
    const result = await airlock(['exec', '--', quickstart?.[1] ?? '']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^hello from the sandbox\nuid=1000\(agent\)/);
  });

  it('streams the output and exits with the command status', async () => {
    const result = await airlock(['exec', '--', 'echo out; echo err >&2; exit 3']);
    expect(result).toMatchObject({ exitCode: 3, stdout: 'out\n' });
    expect(result.stderr).toMatch(/^err$/m);
    expect(result.stderr).not.toMatch(/warning/);
  });

  it('refuses a command the policy denies with 126 and the reasons, running nothing', async () => {
    const result = await airlock(['exec', '--', 'echo RAN; rm -rf /']);
    expect(result.exitCode).toBe(126);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/the policy denies this command/);
    expect(result.stderr).toMatch(/outside the workspace/);
  });

  it('refuses a command that needs approval, saying so, since exec has no approver', async () => {
    const result = await airlock(['exec', '--', 'echo RAN; git reset --hard HEAD~1']);
    expect(result.exitCode).toBe(126);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/requires a person to approve this command/);
  });

  it('applies the policy: section of airlock.yaml, and --policy overrides it', async () => {
    const project = mkdtempSync(join(home, 'project-'));
    writeFileSync(
      join(project, 'airlock.yaml'),
      'policy:\n  rules:\n    - { id: no-cowsay, match: "echo moo*", decision: deny, reason: "no cows here" }\n',
    );
    const denied = await airlock(['exec', '--', 'echo moo'], { cwd: project });
    expect(denied.exitCode).toBe(126);
    expect(denied.stderr).toMatch(/no cows here/);
    const allowed = await airlock(['exec', '--', 'echo hello'], { cwd: project });
    expect(allowed).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
    const overridden = await airlock(['exec', '--policy', 'permissive', '--', 'echo moo'], { cwd: project });
    expect(overridden).toMatchObject({ exitCode: 0, stdout: 'moo\n' });
    expect(overridden.stderr).toMatch(/warning: .*permissive/);
  });

  it('stops the command when the reader of its output goes away, exiting 141 like a shell pipeline', async () => {
    const result = await airlock(['exec', '--policy', 'permissive', '--timeout', '20s', '--', 'yes'], {
      closeOutputAfterFirstWrite: true,
    });
    expect(result.exitCode).toBe(141);
    expect(result.stdout).toMatch(/^y\n/);
    expect(result.stderr).not.toMatch(/timed out|gone/);
  });

  it('exits 124 on timeout and says so', async () => {
    const result = await airlock(['exec', '--policy', 'permissive', '--timeout', '1s', '--', 'sleep 30']);
    expect(result.exitCode).toBe(124);
    expect(result.stderr).toMatch(/timed out after 1s/);
  });

  it('reports an out-of-memory kill with exit 137', async () => {
    const result = await airlock([
      'exec',
      '--policy',
      'permissive',
      '--memory',
      '64m',
      '--',
      `perl -e '$x = "a" x (300 * 1024 * 1024)'`,
    ]);
    expect(result.exitCode).toBe(137);
    expect(result.stderr).toMatch(/out of memory \(limit 64 MiB\)/);
  });

  it('applies --env and nothing of the host environment', async () => {
    const result = await airlock([
      'exec',
      '--policy',
      'permissive',
      '--env',
      'GREETING=hi',
      '--',
      'echo "$GREETING ${HOME_SECRET:-none}"',
    ]);
    expect(result.stdout).toBe('hi none\n');
  });

  it('uses limits from airlock.yaml', async () => {
    const project = mkdtempSync(join(home, 'project-'));
    writeFileSync(join(project, 'airlock.yaml'), 'sandbox:\n  pids: 12\n');
    const forks = `perl -e '$n = 0; for (1..50) { my $p = fork; last unless defined $p; if (!$p) { sleep 3; exit } $n++ } print "$n\\n"'`;
    const limited = await airlock(['exec', '--policy', 'permissive', '--', forks], { cwd: project });
    expect(Number(limited.stdout.trim())).toBeLessThan(12);
    const unlimited = await airlock(['exec', '--policy', 'permissive', '--', forks]);
    expect(Number(unlimited.stdout.trim())).toBe(50);
  });

  it('reaches --allow-host through the egress proxy, swaps a --secret in toward its host only, and refuses others', async () => {
    const seen: string[] = [];
    const upstream = createServer((req, res) => {
      seen.push(String(req.headers['x-api-key'] ?? ''));
      res.end(`key ${String(req.headers['x-api-key'] ?? 'none')}\n`);
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    const port = (upstream.address() as AddressInfo).port;
    try {
      const project = mkdtempSync(join(home, 'network-'));
      writeFileSync(
        join(project, 'airlock.yaml'),
        'sandbox:\n  network:\n    hosts: { api.example.test: 127.0.0.1, other.example.test: 127.0.0.1 }\n',
      );
      const fetch = (host: string) =>
        `python3 -c "import os, urllib.request as u; print(u.urlopen(u.Request('http://${host}:${port}/', headers={'X-Api-Key': os.environ['API_TOKEN']})).read().decode().strip())" 2>&1 | tail -1`;
      const run = (command: string) =>
        runCli(
          [
            'exec',
            '--policy',
            'permissive',
            '--allow-host',
            `api.example.test:${port}`,
            '--secret',
            'API_TOKEN=CLI_TEST_TOKEN@api.example.test',
            '--',
            command,
          ],
          {
            cwd: project,
            env: { HOME: home, AIRLOCK_HOME: join(home, 'state'), CLI_TEST_TOKEN: 'sk-live-cli-test-value' },
          },
        );
      const allowed = await run(fetch('api.example.test'));
      expect(seen).toEqual(['sk-live-cli-test-value']);
      // The upstream echoed the value; the command read the placeholder instead.
      expect(allowed.stdout).toMatch(/^key airlock-secret-API_TOKEN-[0-9a-f]+\n$/);
      const refused = await run(fetch('other.example.test'));
      expect(refused.stdout).toContain('403');
      expect(refused.stderr).toContain(
        `airlock: egress to other.example.test:${port} is not allowed in this session`,
      );
      expect(seen).toHaveLength(1);
    } finally {
      upstream.closeAllConnections();
      upstream.close();
    }
  }, 90_000);
});
