/**
 * The documentation says what the code does: every `airlock …` command and flag written in the README
 * and docs/ exists, every relative link leads to a file, every metric named is one /metrics serves,
 * and nothing points at a folder outside the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/main.ts';
import type { CliContext } from '../../src/cli/context.ts';
import { createMetrics } from '../../src/metrics/index.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const documents = [
  'README.md',
  'SECURITY.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`),
];
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** Text inside code: fenced blocks and inline spans, where commands are written to be typed. */
function codeOf(markdown: string): string[] {
  const pieces: string[] = [];
  const fences = markdown.split(/^```.*$/m);
  fences.forEach((part, index) => {
    if (index % 2 === 1) pieces.push(...part.split('\n'));
    else for (const match of part.matchAll(/`([^`\n]+)`/g)) pieces.push(match[1] ?? '');
  });
  return pieces;
}

const program = buildProgram({} as CliContext);

function flagsOf(command: Command): Set<string> {
  const flags = new Set(['--help', '-h']);
  for (const option of command.options) {
    if (option.long) flags.add(option.long);
    if (option.short) flags.add(option.short);
  }
  if (command === program) flags.add('--version').add('-V');
  return flags;
}

/** What is wrong with one written invocation (the words after `airlock`), or nothing. */
function problemsWith(words: readonly string[]): string[] {
  let command: Command = program;
  let index = 0;
  for (; index < words.length; index++) {
    const word = words[index] ?? '';
    if (!/^[a-z][a-z-]*$/.test(word) || command.commands.length === 0) break;
    const next = command.commands.find((sub) => sub.name() === word);
    if (next === undefined) return [`no command "${word}" under "${command.name()}"`];
    command = next;
  }
  if (command === program) return [];
  const flags = flagsOf(command);
  const problems: string[] = [];
  for (const word of words.slice(index)) {
    if (word === '--') break;
    const flag = word.replace(/^\[/, '').replace(/[=\]].*$/, '');
    if (/^--?[a-zA-Z]/.test(flag) && !flags.has(flag)) problems.push(`"${command.name()}" has no ${flag}`);
  }
  return problems;
}

describe('the documentation', () => {
  it('writes only airlock commands and flags that exist', () => {
    const problems: string[] = [];
    let checked = 0;
    for (const path of documents) {
      for (const line of codeOf(read(path))) {
        for (const match of line.matchAll(/(?:(?:^|[\s`'"(])airlock|\/airlock\.js) +([^#|;&)`]*)/g)) {
          const words = (match[1] ?? '').trim().split(/\s+/).filter(Boolean);
          if (words.length === 0 || !/^[a-z]/.test(words[0] ?? '')) continue;
          checked++;
          for (const problem of problemsWith(words))
            problems.push(`${path}: airlock ${words.join(' ')}: ${problem}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(40);
    expect(problems).toEqual([]);
  });

  it('catches a command or flag that does not exist (the check above can fail)', () => {
    expect(problemsWith(['store', 'restore', 'x.db'])).toEqual(['no command "restore" under "store"']);
    expect(problemsWith(['serve', '--prot', '7400'])).toEqual(['"serve" has no --prot']);
    expect(problemsWith(['exec', '[--memory', '256m]', '--', 'ls --weird'])).toEqual([]);
  });

  it('links only to files that exist', () => {
    const broken: string[] = [];
    for (const path of documents) {
      for (const match of read(path).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = match[1] ?? '';
        if (/^[a-z]+:/.test(target)) continue;
        if (!existsSync(join(root, dirname(path), target))) broken.push(`${path}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('names exactly the metrics /metrics serves (docs/operations.md)', async () => {
    const served = new Set(
      [...(await createMetrics().render()).matchAll(/^# TYPE (airlock_\w+) /gm)].map((match) => match[1]),
    );
    expect(served.size).toBeGreaterThan(10);
    const table = read('docs/operations.md');
    const documented = new Set([...table.matchAll(/^\| `(airlock_\w+)` \|/gm)].map((match) => match[1]));
    expect([...documented].sort()).toEqual([...served].sort());
  });

  it("never points at the sibling folder only the project's CI clone has", () => {
    const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
      .split('\n')
      .filter((path) => path !== '' && existsSync(join(root, path)));
    expect(tracked.length).toBeGreaterThan(100);
    const outside = tracked.filter((path) => read(path).includes(['..', 'shared'].join('/')));
    expect(outside).toEqual([]);
  });
});
