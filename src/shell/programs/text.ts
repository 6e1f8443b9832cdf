import { grammar as defineGrammar } from '../getopt.ts';
import { flags, opt, valued } from '../getopt.ts';
import { lit, options, type Model } from '../model.ts';
import { ALL_VARIABLES } from '../types.ts';
import type { WordValue } from '../types.ts';

const GREP_GRAMMAR = defineGrammar({
  options: [
    opt(['-e', '--regexp'], 'required'),
    opt(['-f', '--file'], 'required', 'read'),
    opt('--exclude-from', 'required', 'read'),
    ...valued(
      '-m',
      '--max-count',
      '-A',
      '--after-context',
      '-B',
      '--before-context',
      '-C',
      '--context',
      '-d',
      '--directories',
      '-D',
      '--devices',
      '--include',
      '--exclude',
      '--exclude-dir',
      '--label',
      '--binary-files',
      '--group-separator',
    ),
    opt('--color', 'optional'),
    opt('--colour', 'optional'),
    ...flags('-r', '-R', '--recursive', '--dereference-recursive'),
  ],
  abbreviations: true,
  unknown: 'harmless',
});

export const grep: Model = (ctx, args) => {
  const parsed = options(ctx, args, GREP_GRAMMAR);
  const hasPattern = parsed.options.some((o) => o.name === '-e' || o.name === '-f');
  const files = hasPattern ? parsed.operands : parsed.operands.slice(1);
  const recursive = parsed.options.some((o) => /^(-r|-R|--recursive|--dereference-recursive)$/.test(o.name));
  for (const file of files) {
    ctx.read(file);
    if (recursive) ctx.pathEffect('read', file, '**');
  }
  // Without files grep reads its input; only -r without files searches the current directory.
  if (files.length === 0 && recursive)
    ctx.pathEffect('read', { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span }, '**');
};

const RG_GRAMMAR = defineGrammar({
  options: [
    opt(['-e', '--regexp'], 'required'),
    opt(['-f', '--file'], 'required', 'read'),
    opt(['--ignore-file'], 'required', 'read'),
    opt(['--pre'], 'required', 'program'),
    ...valued(
      '-g',
      '--glob',
      '--iglob',
      '-t',
      '--type',
      '-T',
      '--type-not',
      '--type-add',
      '--type-clear',
      '-m',
      '--max-count',
      '-A',
      '--after-context',
      '-B',
      '--before-context',
      '-C',
      '--context',
      '-M',
      '--max-columns',
      '-j',
      '--threads',
      '-E',
      '--encoding',
      '-d',
      '--max-depth',
      '--max-filesize',
      '--path-separator',
      '--pre-glob',
      '-r',
      '--replace',
      '--sort',
      '--sortr',
      '--colors',
      '--color',
      '--context-separator',
      '--field-match-separator',
      '--field-context-separator',
      '--dfa-size-limit',
      '--regex-size-limit',
      '--engine',
      '--hyperlink-format',
    ),
  ],
  abbreviations: true,
  unknown: 'harmless',
});

export const rg: Model = (ctx, args) => {
  const parsed = options(ctx, args, RG_GRAMMAR);
  const hasPattern =
    parsed.options.some((o) => o.name === '-e' || o.name === '-f') ||
    parsed.options.some((o) => o.word.kind === 'literal' && o.word.value === '--files');
  const files = hasPattern ? parsed.operands : parsed.operands.slice(1);
  // ripgrep skips hidden files unless told (--hidden, -. , -uu); it always searches directories recursively.
  const hidden = parsed.options.some(
    (o) =>
      o.word.kind === 'literal' &&
      /^(--hidden|-\.|-uu+|--no-ignore-dot)$|^-[a-zA-Z]*u[a-zA-Z]*u/.test(o.word.value),
  );
  const flags = { skipsHidden: !hidden };
  for (const file of files) {
    ctx.read(file);
    ctx.pathEffect('read', file, '**', flags);
  }
  if (files.length === 0 && ctx.stdin === 'terminal')
    ctx.pathEffect(
      'read',
      { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span },
      '**',
      flags,
    );
};

const SORT_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-b',
      '--ignore-leading-blanks',
      '-d',
      '--dictionary-order',
      '-f',
      '--ignore-case',
      '-g',
      '--general-numeric-sort',
      '-i',
      '--ignore-nonprinting',
      '-M',
      '--month-sort',
      '-h',
      '--human-numeric-sort',
      '-n',
      '--numeric-sort',
      '-R',
      '--random-sort',
      '-r',
      '--reverse',
      '-V',
      '--version-sort',
      '-c',
      '-C',
      '-m',
      '--merge',
      '-s',
      '--stable',
      '-u',
      '--unique',
      '-z',
      '--zero-terminated',
      '--debug',
    ),
    ...valued(
      '-k',
      '--key',
      '-t',
      '--field-separator',
      '-S',
      '--buffer-size',
      '--parallel',
      '--batch-size',
      '--sort',
    ),
    opt('--check', 'optional'),
    opt(['-o', '--output'], 'required', 'write'),
    opt(['-T', '--temporary-directory'], 'required', 'write'),
    opt('--compress-program', 'required', 'program'),
    opt('--files0-from', 'required', 'read'),
    opt('--random-source', 'required', 'read'),
  ],
  abbreviations: true,
  unknown: 'opaque',
});

export const sort: Model = (ctx, args) => {
  const parsed = options(ctx, args, SORT_GRAMMAR);
  for (const operand of parsed.operands) ctx.read(operand);
};

/** jq: `env`/`$ENV` read the environment; --rawfile/--slurpfile read files. */
const JQ_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-r',
      '--raw-output',
      '-j',
      '--join-output',
      '-a',
      '--ascii-output',
      '-c',
      '--compact-output',
      '-n',
      '--null-input',
      '-s',
      '--slurp',
      '-e',
      '--exit-status',
      '-S',
      '--sort-keys',
      '-C',
      '-M',
      '--tab',
      '-R',
      '--raw-input',
      '--seq',
      '--stream',
      '-0',
      '--raw-output0',
    ),
    ...valued('--indent'),
    opt(['-f', '--from-file'], 'required', 'read'),
    opt(['-L'], 'required', 'read'),
  ],
  unknown: 'harmless',
});

export const jq: Model = (ctx, args) => {
  // --arg NAME VALUE, --argjson NAME JSON, --rawfile NAME FILE, --slurpfile NAME FILE take two words.
  const rest: WordValue[] = [];
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text !== null && /^--(arg|argjson|rawfile|slurpfile)$/.test(text)) {
      const file = args[i + 2];
      if (file && /file$/.test(text)) ctx.read(file);
      i += 2;
      continue;
    }
    rest.push(args[i] as WordValue);
  }
  const parsed = options(ctx, rest, JQ_GRAMMAR);
  const fromFile = parsed.options.some((o) => o.name === '-f');
  const filter = fromFile ? undefined : parsed.operands[0];
  const filterText = filter ? lit(filter) : null;
  if (fromFile || (filter && (filterText === null || /\benv\b|\$ENV|\binput_filename\b/.test(filterText)))) {
    ctx.envRead(ALL_VARIABLES);
  }
  for (const operand of parsed.operands.slice(filter ? 1 : 0)) ctx.read(operand);
};
