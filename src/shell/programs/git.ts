import { flags, opt, valued, type Grammar, type OptionDef } from '../getopt.ts';
import { grammar as defineGrammar } from '../getopt.ts';
import { lit, options, hostOf, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';
import { escapeGlob } from '../words.ts';
import { ANY_FILE_BELOW } from './files.ts';

/**
 * Config keys whose values are commands or change what git runs: `-c` with these (or any key we do not
 * recognise as harmless) is not allow. Harmless keys only change output.
 */
const HARMLESS_CONFIG =
  /^(color(\..*)?|column\..*|advice\..*|user\.(name|email)|init\.defaultbranch|log\.(date|decorate|abbrevcommit|follow|showsignature)|format\.pretty|diff\.(renames|algorithm|context|colormoved|noprefix|mnemonicprefix|relative|statgraphwidth|submodule|indentheuristic)|merge\.conflictstyle|pull\.(rebase|ff)|push\.default|core\.(quotepath|autocrlf|safecrlf|filemode|ignorecase|abbrev)|status\.(short|branch|showuntrackedfiles)|blame\..*|grep\.(linenumber|patterntype|extendedregexp)|i18n\..*|gc\.auto|commit\.gpgsign|tag\.gpgsign|rebase\.autosquash|fetch\.prune|safe\.directory)$/i;

const globalGrammar: Grammar = defineGrammar({
  options: [
    opt('-C', 'required'),
    opt('-c', 'required'),
    opt('--config-env', 'required', 'opaque'),
    opt('--exec-path', 'optional'),
    opt(['--git-dir', '--work-tree', '--namespace', '--super-prefix', '--attr-source'], 'required', 'opaque'),
    opt('--list-cmds', 'required'),
    ...flags(
      '-p',
      '--paginate',
      '-P',
      '--no-pager',
      '--bare',
      '--no-replace-objects',
      '--literal-pathspecs',
      '--glob-pathspecs',
      '--noglob-pathspecs',
      '--icase-pathspecs',
      '--no-optional-locks',
      '--version',
      '-v',
      '--help',
      '-h',
      '--html-path',
      '--man-path',
      '--info-path',
      '--no-advice',
    ),
  ],
  stopAtOperand: true,
  abbreviations: false,
  unknown: 'opaque',
});

/** Options with values that are harmless in every subcommand (so the value is not taken for an operand). */
const HARMLESS_VALUED = valued(
  '-m',
  '--message',
  '-n',
  '--max-count',
  '-L',
  '--format',
  '--pretty',
  '--author',
  '--since',
  '--until',
  '--grep',
  '-b',
  '-B',
  '-S',
  '-G',
  '--depth',
  '--branch',
  '--origin',
  '--shallow-since',
  '--date',
  '--stat-width',
  '--abbrev',
  '--unified',
  '-U',
  '--diff-filter',
  '--skip',
  '--committer',
  '--encoding',
  '--sort',
  '--contains',
  '--merged',
  '--no-merged',
  '--points-at',
  '--jobs',
  '-j',
  '--strategy',
  '-s',
  '--strategy-option',
  '-X',
  '--onto',
  '--filter',
);

const DIFF_OUTPUT = [opt('--output', 'required', 'write'), opt('--ext-diff', 'none', 'opaque')];
const UPLOAD_PACK = opt('--upload-pack', 'required', 'program');

/**
 * Options that run programs or write files, by subcommand: the same letter means different things in
 * different subcommands (`-x` is --extcmd in difftool but "ignore .gitignore" in clean).
 */
const SUBCOMMAND_OPTIONS: Record<string, readonly OptionDef[]> = {
  diff: DIFF_OUTPUT,
  log: DIFF_OUTPUT,
  show: DIFF_OUTPUT,
  whatchanged: DIFF_OUTPUT,
  'diff-tree': DIFF_OUTPUT,
  'diff-files': DIFF_OUTPUT,
  'diff-index': DIFF_OUTPUT,
  'range-diff': DIFF_OUTPUT,
  'format-patch': [...DIFF_OUTPUT, opt(['-o', '--output-directory'], 'required', 'write')],
  grep: [opt(['-O', '--open-files-in-pager'], 'optional', 'opaque')],
  difftool: [
    opt(['-x', '--extcmd'], 'required', 'shell'),
    opt(['-t', '--tool'], 'required', 'opaque'),
    opt('--ext-diff', 'none', 'opaque'),
  ],
  mergetool: [opt(['-t', '--tool'], 'required', 'opaque')],
  clone: [
    opt(['-u', '--upload-pack'], 'required', 'program'),
    opt(['--template', '-c', '--config', '--separate-git-dir'], 'required', 'opaque'),
  ],
  'ls-remote': [opt(['-u', '--upload-pack'], 'required', 'program')],
  fetch: [UPLOAD_PACK],
  pull: [UPLOAD_PACK],
  remote: [],
  push: [opt(['--receive-pack', '--exec'], 'required', 'program')],
  archive: [opt('--exec', 'required', 'program'), opt(['-o', '--output'], 'required', 'write')],
  init: [opt(['--template', '--separate-git-dir'], 'required', 'opaque')],
  commit: [opt(['-F', '--file'], 'required', 'read'), opt(['-t', '--template'], 'required', 'read')],
  'send-email': [opt(['--sendmail-cmd', '--smtp-server'], 'required', 'opaque')],
};

const SUBCOMMAND_GRAMMARS: ReadonlyMap<string, Grammar> = new Map(
  Object.entries(SUBCOMMAND_OPTIONS).map(([name, defs]) => [
    name,
    defineGrammar({ options: [...defs, ...HARMLESS_VALUED], abbreviations: true, unknown: 'harmless' }),
  ]),
);
const DEFAULT_SUBCOMMAND_GRAMMAR = defineGrammar({
  options: HARMLESS_VALUED,
  abbreviations: true,
  unknown: 'harmless',
});

function subcommandGrammar(name: string): Grammar {
  return SUBCOMMAND_GRAMMARS.get(name) ?? DEFAULT_SUBCOMMAND_GRAMMAR;
}

/** Subcommands that run a shell command given as an argument. */
const RUNS_COMMAND: Record<string, (ctx: ModelContext, rest: readonly WordValue[]) => void> = {
  rebase: (ctx, rest) => {
    for (let i = 0; i < rest.length; i++) {
      const text = lit(rest[i]);
      if (text === '--exec' || text === '-x') {
        const command = rest[i + 1];
        if (command) ctx.shell(command);
        i++;
      } else if (text?.startsWith('--exec=')) {
        ctx.shell({ ...(rest[i] as Extract<WordValue, { kind: 'literal' }>), value: text.slice(7) });
      } else if (text === '-i' || text === '--interactive')
        ctx.hazard('opaque-option', 'interactive rebase opens an editor');
    }
  },
  bisect: (ctx, rest) => {
    if (lit(rest[0]) === 'run') ctx.run(rest.slice(1));
  },
  submodule: (ctx, rest) => {
    const foreach = rest.findIndex((w) => lit(w) === 'foreach');
    if (foreach >= 0) {
      const command = rest.slice(foreach + 1).filter((w) => !/^--/.test(lit(w) ?? ''));
      const texts = command.map(lit);
      const first = command[0];
      if (first && texts.every((t) => t !== null)) {
        ctx.shell({ kind: 'literal', value: texts.join(' '), pattern: '', glob: false, span: first.span });
      } else ctx.hazard('unseen-code', 'git submodule foreach runs a command');
    }
  },
  'filter-branch': (ctx) => ctx.hazard('unseen-code', 'git filter-branch runs filter commands'),
  difftool: (ctx) => ctx.code('shell', 'unknown', null),
  mergetool: (ctx) => ctx.code('shell', 'unknown', null),
};

const NETWORK = new Set([
  'clone',
  'fetch',
  'pull',
  'push',
  'ls-remote',
  'archive',
  'request-pull',
  'send-email',
  'svn',
]);

export const git: Model = (ctx, args) => {
  const parsed = options(ctx, args, globalGrammar);
  for (const option of parsed.options) {
    if (option.name === '-c') {
      const text = lit(option.value);
      const eq = text?.indexOf('=') ?? -1;
      const key = text === null ? null : eq < 0 ? text : text.slice(0, eq);
      configValue(ctx, key, text === null ? null : eq < 0 ? 'true' : text.slice(eq + 1), 'git -c');
    }
    if (option.name === '--config-env')
      ctx.hazard(
        'escape-hatch',
        'git --config-env takes a setting, possibly a command, from a variable',
        'deny',
      );
    if (option.name === '--exec-path' && option.value)
      ctx.hazard('opaque-option', 'git --exec-path replaces git programs');
    if (option.name === '-C' && option.value) ctx.read(option.value);
  }
  const [sub, ...rest] = parsed.operands;
  const subName = lit(sub);
  if (!sub) {
    // `git --version`, `git --help`: the global option is what the rules see.
    ctx.setExecArgv(['git', ...args.map(lit)]);
    return;
  }
  ctx.setExecArgv(['git', subName, ...rest.map(lit)]);
  if (subName === null) {
    ctx.hazard('dynamic-command-name', 'a git subcommand only known at run time');
    return;
  }
  const sub_ = options(ctx, rest, subcommandGrammar(subName));
  // Paths given to git (`git diff --no-index a b`, `git show rev:path`) are read.
  ctx.generic(sub_.operands.filter((w) => /^[~/]|^\.\.\//.test(lit(w) ?? '/')));
  // `git show REV:path` reads path as it was in history (a deleted .env is still there).
  for (const operand of sub_.operands) {
    const text = lit(operand);
    const blob = text === null || text.includes('://') ? null : /^[^:\s]*:(?!:)(.+)$/.exec(text);
    if (blob?.[1])
      ctx.read({
        kind: 'literal',
        value: blob[1],
        pattern: escapeGlob(blob[1]),
        glob: false,
        span: operand.span,
      });
  }
  RUNS_COMMAND[subName]?.(ctx, rest);
  if (
    NETWORK.has(subName) ||
    (subName === 'remote' && /^(update|prune|show)$/.test(lit(rest[0]) ?? '')) ||
    (subName === 'submodule' && /^(update|add|sync)$/.test(lit(rest[0]) ?? ''))
  ) {
    const url = rest.find((w) => /:\/\/|^[^/\s]+@[^/\s]+:/.test(lit(w) ?? ''));
    ctx.net(url ? hostOf(url) : null);
  }
  if (subName === 'config') gitConfig(ctx, rest);
  if (
    /^(apply|am)$/.test(subName) &&
    !rest.some((w) => /^--(check|stat|numstat|summary)$/.test(lit(w) ?? ''))
  ) {
    ctx.write(ANY_FILE_BELOW(ctx.span));
  }
  if (subName === 'clean' && rest.some((w) => /^-[a-zA-Z]*f|^--force$/.test(lit(w) ?? ''))) {
    ctx.pathEffect(
      'delete',
      { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span },
      '**',
    );
  }
  if (subName === 'help' || subName === 'version') return;
};

/** Config keys whose value git runs as a command (pagers, editors, drivers, hooks, helpers). */
const COMMAND_KEYS =
  /^(core\.(pager|editor|sshcommand|fsmonitor|hookspath|askpass|gitproxy)|pager\..+|sequence\.editor|credential\.(.+\.)?helper|diff\.external|diff\..+\.(command|textconv)|difftool\..+\.cmd|mergetool\..+\.cmd|filter\..+\.(clean|smudge|process)|merge\..+\.driver|gpg\.(.+\.)?program|uploadpack\.packobjectshook|include\.path|includeif\..+)$/i;
/** Pagers and editors that only show or edit text. */
const PLAIN_PROGRAMS = new Set([
  'cat',
  'less',
  'more',
  'true',
  'vim',
  'vi',
  'nano',
  'delta',
  'diff-so-fancy',
]);

/**
 * A config value given on the command line: a key git runs as a command is an escape hatch unless its
 * value is a plain pager or editor (`core.pager=cat`); `alias.x=!cmd` runs a shell; other keys not
 * known to be harmless might do anything git can.
 */
function configValue(ctx: ModelContext, key: string | null, value: string | null, how: string): void {
  if (key !== null && HARMLESS_CONFIG.test(key)) return;
  if (key !== null && /^alias\./i.test(key)) {
    if (value !== null && !value.trimStart().startsWith('!')) return;
    ctx.hazard('escape-hatch', `${how} ${key} defines an alias that runs a shell command`, 'deny');
    return;
  }
  if (key !== null && COMMAND_KEYS.test(key)) {
    const program = value?.trim().split(/\s+/)[0]?.split('/').at(-1) ?? '';
    if (value !== null && PLAIN_PROGRAMS.has(program) && !/[;&|`$<>()]/.test(value)) return;
    ctx.hazard('escape-hatch', `${how} ${key}=${value ?? '…'} makes git run a command`, 'deny');
    return;
  }
  ctx.hazard('opaque-option', `${how} ${key ?? '…'} may make git run a command`);
}

/** `git config KEY VALUE` (setting) of a key that runs commands is a persistent change of behaviour. */
function gitConfig(ctx: ModelContext, rest: readonly WordValue[]): void {
  const words = rest.map(lit);
  if (
    words.some(
      (w) =>
        w !== null &&
        /^(--get|--get-all|--get-regexp|-l|--list|--show-origin|--show-scope|get|list)$/.test(w),
    )
  ) {
    return;
  }
  const operands = words.filter((w) => w === null || !w.startsWith('-'));
  if (
    operands.length >= 2 ||
    words.some(
      (w) => w !== null && /^(set|--add|--replace-all|--unset|--unset-all|--edit|-e|edit|unset)$/.test(w),
    )
  ) {
    const keyIndex = operands.findIndex((w) => w !== 'set' && w !== 'unset');
    const key = keyIndex < 0 ? null : (operands[keyIndex] ?? null);
    ctx.stateChange(`git config ${key ?? '…'}`);
    const value = keyIndex < 0 ? null : (operands[keyIndex + 1] ?? 'true');
    if (key === null || !HARMLESS_CONFIG.test(key)) configValue(ctx, key, value, 'git config');
    // A global setting of a key that runs commands persists beyond this workspace.
    const risky = key === null || !HARMLESS_CONFIG.test(key);
    if (risky && words.some((w) => w === '--global' || w === '--system'))
      ctx.pathEffect('write', {
        kind: 'literal',
        value: '~/.gitconfig',
        pattern: '~/.gitconfig',
        glob: false,
        span: ctx.span,
      });
  }
}
