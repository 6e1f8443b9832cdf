import { flags, opt, valued } from '../getopt.ts';
import { lit, options, type Model } from '../model.ts';

/** man and the pagers: options that run a browser, pager or preprocessor. */
export const man: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
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
  for (const option of parsed.options) {
    if (option.name === '-H') {
      if (option.value?.kind === 'literal')
        ctx.shell({ ...option.value, value: `${option.value.value} "$@"` });
      else ctx.hazard('unseen-code', 'man --html runs the BROWSER program');
    }
  }
  if (parsed.options.some((o) => o.name === '-l')) for (const operand of parsed.operands) ctx.read(operand);
};

export const less: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
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
  for (const operand of parsed.operands) {
    // `+cmd` runs less commands at start, and `!` among them is a shell escape.
    if ((lit(operand) ?? '+').startsWith('+'))
      ctx.hazard('opaque-option', `${ctx.program} ${lit(operand) ?? '…'} runs pager commands`);
    else ctx.read(operand);
  }
};
