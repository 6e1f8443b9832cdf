import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { policyExitCodes } from '../../src/cli/policy-command.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `airlock …` in-process with the given stdin, capturing output and the exit status. */
function airlock(args: string[], stdin = ''): Promise<CliRun> {
  return runCli(args, { cwd: dir, env: { HOME: dir }, stdin });
}

describe('airlock policy check', () => {
  it('exits 0 on allow, and the documented codes on ask and deny', async () => {
    expect((await airlock(['policy', 'check', '--', 'git status'])).exitCode).toBe(policyExitCodes.allow);
    const ask = await airlock(['policy', 'check', '--', 'git reset --hard HEAD~1']);
    expect(ask.exitCode).toBe(policyExitCodes.ask);
    // Without a session, commands are judged in today's sandbox: no network, so nobody could grant it.
    const offline = await airlock(['policy', 'check', '--', 'curl https://example.com']);
    expect(offline.exitCode).toBe(policyExitCodes.deny);
    expect(offline.stdout).toContain('no network');
    const deny = await airlock(['policy', 'check', '--', 'cat ~/.ssh/id_rsa']);
    expect(deny.exitCode).toBe(policyExitCodes.deny);
    expect(deny.stdout).toMatch(/^deny\n/);
    expect(deny.stdout).toContain('credential');
  });

  it('prints JSON with the decision, reasons, rule ids and spans', async () => {
    const result = await airlock(['policy', 'check', '--json', '--', 'ls && rm -rf /home/victim']);
    const json = JSON.parse(result.stdout) as {
      decision: string;
      ruleIds: string[];
      commands: { span: unknown }[];
    };
    expect(json.decision).toBe('deny');
    expect(json.ruleIds).toContain('outside-writable');
    expect(json.commands[1]?.span).toEqual({ start: 6, end: 25 });
  });

  it('answers every --batch line, with an error line for malformed input and no crash', async () => {
    const input = ['{"cmd":"git status"}', 'not json', '{"command":"ls"}', '', '{"cmd":"cat .env"}'].join(
      '\n',
    );
    const result = await airlock(['policy', 'check', '--batch'], input);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['decision'])).toEqual(['allow', null, null, 'deny']);
    expect(lines[1]?.['error']).toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(lines[0]).toMatchObject({ cmd: 'git status', reasons: expect.any(Array) });
    expect(result.exitCode).toBe(0);
  });

  it('reads a policy file and reports every problem in it', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'rules:\n  - match: ls\n    decision: perhaps\n    reason: x\n  - bogus: 1\n');
    const result = await airlock(['policy', 'check', '--policy', file, '--', 'ls']);
    expect(result.exitCode).toBe(policyExitCodes.usage);
    expect(result.stderr).toContain('rules.0.decision');
    expect(result.stderr).toContain('rules.1');
  });

  it('warns when the permissive preset is used', async () => {
    const result = await airlock(['policy', 'check', '--policy', 'permissive', '--', 'rm -rf /']);
    expect(result.exitCode).toBe(0);
    expect(result.stderr).toContain('permissive');
  });
});

describe('airlock policy explain', () => {
  it('shows the parsed commands with control characters escaped', async () => {
    const result = await airlock([
      'policy',
      'explain',
      '--',
      'rm -rf /home/victim # \u001b[2K\u001b[Gls -la',
    ]);
    expect(result.stdout).not.toContain('\u001b');
    expect(result.stdout).toContain('rm -rf /home/victim');
    expect(result.stdout).toContain('outside-writable');
  });
});
