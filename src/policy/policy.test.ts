import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CAPABILITIES,
  evaluatePolicy,
  loadPolicy,
  PolicyLoadError,
  renderDecision,
} from './index.ts';

const coding = loadPolicy({ preset: 'coding-agent' });
const decide = (command: string, policy = coding) => evaluatePolicy(policy, command);

function loadError(yaml: string): PolicyLoadError {
  try {
    loadPolicy({ yaml, origin: 'test.yaml' });
  } catch (error) {
    if (error instanceof PolicyLoadError) return error;
    throw error;
  }
  throw new Error('expected the policy to be rejected');
}

describe('loading policies', () => {
  it('loads every preset (their examples are checked at load)', () => {
    for (const preset of ['readonly', 'coding-agent', 'permissive'] as const) {
      expect(loadPolicy({ preset }).origin).toBe(`preset:${preset}`);
    }
    expect(loadPolicy({ preset: 'permissive' }).warnings.length).toBeGreaterThan(0);
  });

  it('lists every bad key and every wrong example, not only the first', () => {
    const error = loadError(`
default: sometimes
rules:
  - match: ls
    decision: maybe
    reason: x
  - match: git push
    decision: deny
    reason: publishes
    examples: { match: ["git pull"], not_match: ["git push origin main"] }
  - effect: net
    paths: ["/x"]
    decision: ask
    reason: y
  - bogus: 1
`);
    const paths = error.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'default',
        'rules.0.decision',
        'rules.2.paths',
        'rules.3',
        'rules.1.examples.match',
        'rules.1.examples.not_match',
      ]),
    );
  });

  it('rejects a rule with both match and effect, duplicate ids, and YAML syntax errors', () => {
    expect(
      loadError('rules: [{ match: ls, effect: read, decision: allow, reason: r }]').issues.length,
    ).toBeGreaterThan(0);
    expect(
      loadError(
        'rules: [{ id: a, match: ls, decision: allow, reason: r }, { id: a, match: cat, decision: allow, reason: r }]',
      ).issues[0]?.message,
    ).toContain('duplicate');
    expect(loadError('rules: [').issues.length).toBe(1);
  });

  it('a user policy extends a preset and cannot loosen its denies', () => {
    const policy = loadPolicy({
      yaml: `preset: coding-agent\nrules:\n  - { id: my-cat, match: cat, decision: allow, reason: fine }\n`,
    });
    expect(decide('cat ~/.ssh/id_rsa', policy).decision).toBe('deny');
    expect(decide('cat README.md', policy).decision).toBe('allow');
  });
});

describe('decisions', () => {
  it('takes the strictest decision over every effect', () => {
    const d = decide('git status && rm -rf /home/victim');
    expect(d.decision).toBe('deny');
    expect(d.ruleIds).toContain('outside-writable');
    expect(d.commands.map((c) => c.decision)).toEqual(['allow', 'deny']);
  });

  it('uses the default for effects no rule matches', () => {
    const policy = loadPolicy({ yaml: 'default: deny\nrules: []' });
    expect(decide('ls', policy).decision).toBe('deny');
    expect(decide('ls', policy).ruleIds).toEqual(['default']);
  });

  it('turns "this might match a deny rule" into ask, never allow', () => {
    // Unsandboxed, a path only known at run time may be any file of the person's machine.
    const d = evaluatePolicy(loadPolicy({ preset: 'coding-agent' }), 'F=$(cat list); cat "$F"', {
      capabilities: { ...DEFAULT_CAPABILITIES, driver: 'none' },
    });
    expect(d.decision).toBe('ask');
    expect(d.reasons.join(' ')).toContain('only known at run time');
  });

  it('honours except in rules', () => {
    const policy = loadPolicy({ preset: 'readonly' });
    expect(decide('grep x f 2>/dev/null', policy).decision).toBe('allow');
    expect(decide('grep x f > out.txt', policy).decision).toBe('deny');
  });

  it('never allows what it cannot judge, unless the policy opts out', () => {
    const permissive = loadPolicy({ preset: 'permissive' });
    expect(decide('echo "unterminated').decision).toBe('ask');
    expect(decide('echo "unterminated', permissive).decision).toBe('allow');
    expect(decide('$X', permissive).decision).toBe('allow');
  });

  it('still denies inside a command too long to parse (cheap deny pass)', () => {
    const long = `echo ${'a '.repeat(10_000)}; cat ~/.ssh/id_rsa`;
    const d = decide(long);
    expect(d.decision).toBe('deny');
    expect(d.ruleIds).toContain('secrets');
    expect(decide(`echo ${'a '.repeat(10_000)}`).decision).toBe('ask');
  });

  it('gives reasons a model can act on, with spans into the command', () => {
    const d = decide('ls; curl -s https://api.example.test/v1');
    expect(d.decision).toBe('deny');
    const verdict = d.commands[1];
    expect(verdict?.span).toEqual({ start: 4, end: 39 });
    expect(verdict?.reasons.join(' ')).toMatch(/no network access/);
    expect(verdict?.reasons.join(' ')).toMatch(/Work offline/);
  });
});

describe('rendering for people', () => {
  it('escapes control characters and shows the parsed commands, not the raw text', () => {
    const text = renderDecision(decide('rm -rf /tmp/victim #\rgit status'));
    expect(text).not.toContain('\r');
    expect(text).toContain('U+000D');
    expect(text).toContain('1. rm -rf /tmp/victim');
    expect(text).not.toContain('git status');
    expect(text).toMatch(/DENY/);
  });

  it('escapes ANSI escapes that would rewrite the approval prompt', () => {
    const text = renderDecision(decide("echo $'\\e[2K' \u001b[2K"));
    expect(text).not.toContain('\u001b');
  });
});

describe('the sandbox workspace as an absolute path', () => {
  const policy = loadPolicy({ preset: 'coding-agent' });

  it('judges /workspace/... like the relative path, and climbing out of it like the outside', () => {
    expect(evaluatePolicy(policy, 'cat /workspace/src/app.ts').decision).toBe('allow');
    expect(evaluatePolicy(policy, 'cat src/app.ts').decision).toBe('allow');
    expect(evaluatePolicy(policy, 'cat /workspace/../etc/shadow').decision).toBe('deny');
    expect(evaluatePolicy(policy, 'rm -rf /workspace/../etc').decision).toBe('deny');
  });

  it('judges absolute paths as written when no workspace root applies', () => {
    // Where nothing contains commands, reads are judged by path; /workspace is then just a directory.
    const laptop = { ...DEFAULT_CAPABILITIES, driver: 'none' as const };
    expect(
      evaluatePolicy(policy, 'cat /workspace/src/app.ts', { workspaceRoot: null, capabilities: laptop })
        .decision,
    ).not.toBe('allow');
    expect(evaluatePolicy(policy, 'cat /workspace/src/app.ts', { capabilities: laptop }).decision).toBe(
      'allow',
    );
  });
});
