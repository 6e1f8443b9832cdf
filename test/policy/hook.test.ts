import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HOOK_BLOCK_EXIT } from '../../src/cli/policy-command.ts';
import { runCli } from '../support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-policy-hook-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fixtures = resolve(import.meta.dirname, 'fixtures/hooks');

/** A payload as the agent's documentation shows it (see each fixture's `source`). */
function payload(name: string): string {
  const fixture = JSON.parse(readFileSync(join(fixtures, name), 'utf8')) as {
    source: string;
    payload: unknown;
  };
  expect(fixture.source.length).toBeGreaterThan(10);
  return JSON.stringify(fixture.payload);
}

async function hook(format: string, stdin: string) {
  const result = await runCli(['policy', 'hook', '--no-cross-check', '--format', format], {
    cwd: dir,
    env: { HOME: dir },
    stdin,
  });
  const answer = result.stdout.trim() === '' ? null : (JSON.parse(result.stdout) as Record<string, unknown>);
  return { ...result, answer };
}

function claudeDecision(answer: Record<string, unknown> | null) {
  return (answer?.['hookSpecificOutput'] as { permissionDecision?: string } | undefined)?.permissionDecision;
}

describe('airlock policy hook --format claude-code', () => {
  it('has recorded payloads to answer, each with its source', () => {
    expect(readdirSync(fixtures).filter((f) => f.endsWith('.json')).length).toBeGreaterThan(10);
  });

  it.each([
    ['claude-code-bash-allow.json', 'allow'],
    ['claude-code-bash-deny.json', 'deny'],
    ['claude-code-bash-ask.json', 'ask'],
    ['claude-code-write-deny.json', 'deny'],
    ['claude-code-edit-allow.json', 'allow'],
  ])('%s → %s, in the PreToolUse answer format', async (name, expected) => {
    const result = await hook('claude-code', payload(name));
    expect(result.exitCode).toBe(0);
    expect(result.answer).toMatchObject({
      hookSpecificOutput: { hookEventName: 'PreToolUse', permissionDecision: expected },
    });
    const reason = (result.answer?.['hookSpecificOutput'] as { permissionDecisionReason: string })
      .permissionDecisionReason;
    expect(reason).toMatch(/^airlock: /);
  });

  it('says nothing about tools it has no rule for, so the agent decides as usual', async () => {
    const result = await hook('claude-code', payload('claude-code-webfetch.json'));
    expect(result.exitCode).toBe(0);
    expect(result.answer).toBeNull();
  });

  it('blocks (exit 2, reason on stderr) on input that is not a tool call (adversarial)', async () => {
    for (const input of ['not json', '{"tool_input": {}}', '[]', '']) {
      const result = await hook('claude-code', input);
      expect(result.exitCode, input).toBe(HOOK_BLOCK_EXIT);
      expect(result.stderr, input).toMatch(/hook input/);
      expect(result.stdout).toBe('');
    }
  });
});

describe('airlock policy hook --format codex', () => {
  it('allows and denies like Claude Code', async () => {
    expect(claudeDecision((await hook('codex', payload('codex-bash-allow.json'))).answer)).toBe('allow');
    expect(claudeDecision((await hook('codex', payload('codex-bash-deny.json'))).answer)).toBe('deny');
    expect(claudeDecision((await hook('codex', payload('codex-apply-patch-deny.json'))).answer)).toBe('deny');
  });

  it('sends an ask as a deny that says a person must approve it (Codex cannot ask)', async () => {
    const result = await hook('codex', payload('codex-bash-ask.json'));
    expect(claudeDecision(result.answer)).toBe('deny');
    expect(JSON.stringify(result.answer)).toContain('A person must approve');
  });
});

describe('airlock policy hook --format gemini', () => {
  it('answers BeforeTool with decision and reason', async () => {
    expect((await hook('gemini', payload('gemini-shell-allow.json'))).answer).toEqual({ decision: 'allow' });
    const denied = await hook('gemini', payload('gemini-shell-deny.json'));
    expect(denied.answer).toMatchObject({ decision: 'deny', reason: expect.stringMatching(/^airlock: /) });
  });

  it('leaves an ask to Gemini’s own confirmation, with a message saying why', async () => {
    for (const name of ['gemini-shell-ask.json', 'gemini-write-ask.json']) {
      const result = await hook('gemini', payload(name));
      expect(result.answer, name).not.toHaveProperty('decision');
      expect(result.answer?.['systemMessage'], name).toMatch(/approve/);
    }
  });
});
