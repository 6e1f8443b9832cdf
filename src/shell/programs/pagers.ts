import { grammar as defineGrammar } from '../getopt.ts';
import { flags, opt, valued } from '../getopt.ts';
import { lit, options, type Model } from '../model.ts';
import type { WordValue } from '../types.ts';

/** man and the pagers: options that run a browser, pager or preprocessor. */
const MAN_GRAMMAR = defineGrammar({
  options: [
    opt(['-H', '--html'], 'optional'),
    opt(['-P', '--pager'], 'required', 'program'),
    opt(
      ['-C', '--config-file', '-M', '--manpath', '-p', '--preprocessor', '-T', '--troff-device'],
      'required',
      'opaque',
    ),
    opt(['-l', '--local-file'], 'none'),
    ...valued(
      '-L',
      '--locale',
      '-m',
      '--systems',
      '-S',
      '-s',
      '--sections',
      '-e',
      '--extension',
      '-R',
      '--recode',
      '-E',
      '--encoding',
    ),
    ...flags(
      '-a',
      '--all',
      '-f',
      '--whatis',
      '-k',
      '--apropos',
      '-K',
      '--global-apropos',
      '-w',
      '--where',
      '--path',
      '-W',
      '--where-cat',
      '-c',
      '--catman',
      '-d',
      '--debug',
      '-D',
      '--default',
      '-7',
      '--ascii',
      '-t',
      '--troff',
      '-Z',
      '--ditroff',
      '--no-hyphenation',
      '--no-justification',
      '-u',
      '--update',
      '--no-subpages',
      '-i',
      '-I',
      '--regex',
      '--wildcard',
      '--names-only',
      '-V',
      '--version',
      '-h',
      '--help',
    ),
  ],
  abbreviations: true,
  unknown: 'opaque',
});

export const man: Model = (ctx, args) => {
  const parsed = options(ctx, args, MAN_GRAMMAR);
  for (const option of parsed.options) {
    if (option.name === '-H') {
      if (option.value?.kind === 'literal')
        ctx.shell({ ...option.value, value: `${option.value.value} "$@"` });
      else ctx.hazard('unseen-code', 'man --html runs the BROWSER program');
    }
  }
  if (parsed.options.some((o) => o.name === '-l')) for (const operand of parsed.operands) ctx.read(operand);
};

const LESS_GRAMMAR = defineGrammar({
  options: [
    opt(['-o', '--log-file', '-O', '--LOG-FILE'], 'required', 'write'),
    opt(['-k', '--lesskey-file', '--lesskey-src', '--lesskey-content'], 'required', 'opaque'),
    ...valued(
      '-b',
      '--buffers',
      '-h',
      '--max-back-scroll',
      '-j',
      '--jump-target',
      '-p',
      '--pattern',
      '-P',
      '--prompt',
      '-t',
      '--tag',
      '-T',
      '--tag-file',
      '-x',
      '--tabs',
      '-y',
      '--max-forw-scroll',
      '-z',
      '--window',
      '-#',
      '--shift',
    ),
  ],
  abbreviations: true,
  unknown: 'harmless',
});

export const less: Model = (ctx, args) => {
  const parsed = options(ctx, args, LESS_GRAMMAR);
  for (const operand of parsed.operands) {
    const text = lit(operand);
    if (text === null || !text.startsWith('+')) {
      ctx.read(operand);
      continue;
    }
    // `+cmd` runs pager commands at start: searches, jumps and follow are harmless; `!` (shell),
    // `|` (pipe to a shell), `v` (editor) and `s`/`o` (save to a file) are the escape hatches.
    if (/^\+\+?(?:[/?].*|\d*[gGpF%]?|\d+)$/.test(text)) continue;
    ctx.hazard('escape-hatch', `${ctx.program} ${text} runs pager commands at start`, 'deny');
  }
};

/** vim, vi, nvim, ex: `-c`/`+`/`--cmd` commands; `!`, `:py`, `:lua`, `:terminal`, `system()` run programs. */
export const vim: Model = (ctx, args) => {
  const commands: (string | null)[] = [];
  const files: WordValue[] = [];
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === '-c' || text === '--cmd' || text === '-S') {
      commands.push(text === '-S' ? '' : lit(args[i + 1]));
      if (text === '-S' && args[i + 1]) ctx.read(args[i + 1] as WordValue);
      i++;
    } else if (text !== null && text.startsWith('+')) commands.push(text.slice(1));
    else if (text === null || !text.startsWith('-')) files.push(args[i] as WordValue);
  }
  for (const command of commands) {
    if (
      command !== null &&
      !/!|\b(py|python|py3|python3|pyx|lua|luado|perl|ruby|tcl|mzscheme|term|terminal|sh|shell|call|exe|execute|source|so|make|grep|lgrep|redir)\b|\b(w|write|r|read|sav|saveas)!?\s+\S|system\s*\(/.test(
        command,
      )
    )
      continue;
    ctx.hazard(
      'escape-hatch',
      `${ctx.program} runs the command ${JSON.stringify(command ?? '…')}, which can run programs or write files`,
      'deny',
    );
  }
  for (const file of files) {
    ctx.read(file);
    ctx.write(file);
  }
};
