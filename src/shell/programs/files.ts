import { flags, grammar, opt, valued, type Grammar } from '../getopt.ts';
import { lit, options, type Model } from '../model.ts';
import type { WordValue } from '../types.ts';
import { escapeGlob, literalWord } from '../words.ts';

const gnu = (options: Grammar['options'], unknown: Grammar['unknown'] = 'harmless'): Grammar =>
  grammar({ options, abbreviations: true, unknown });

const rmGrammar = gnu([
  ...flags(
    '-r',
    '-R',
    '--recursive',
    '-f',
    '--force',
    '-i',
    '-I',
    '-d',
    '--dir',
    '-v',
    '--verbose',
    '--one-file-system',
    '--preserve-root',
  ),
  opt('--interactive', 'optional'),
  opt('--no-preserve-root', 'none', 'opaque'),
]);

export const rm: Model = (ctx, args) => {
  const parsed = options(ctx, args, rmGrammar);
  const recursive = parsed.options.some((o) => /^(-r|-R|--recursive)$/.test(o.name));
  for (const operand of parsed.operands) {
    ctx.remove(operand);
    if (recursive) ctx.pathEffect('delete', operand, '**');
  }
};

export const rmdir: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu(flags('-p', '--parents', '-v', '--verbose', '--ignore-fail-on-non-empty')),
  );
  for (const operand of parsed.operands) ctx.remove(operand);
};

export const unlink: Model = (ctx, args) => {
  for (const operand of options(ctx, args, gnu([])).operands) ctx.remove(operand);
};

export const shred: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([...flags('-f', '-u', '-v', '-x', '-z', '--remove'), ...valued('-n', '-s', '--random-source')]),
  );
  for (const operand of parsed.operands) {
    ctx.write(operand);
    ctx.remove(operand);
  }
};

const copyGrammar = gnu([
  ...flags(
    '-a',
    '--archive',
    '-r',
    '-R',
    '--recursive',
    '-f',
    '--force',
    '-i',
    '--interactive',
    '-n',
    '--no-clobber',
    '-u',
    '--update',
    '-v',
    '--verbose',
    '-l',
    '--link',
    '-s',
    '--symbolic-link',
    '-L',
    '--dereference',
    '-P',
    '--no-dereference',
    '-H',
    '-d',
    '-x',
    '--one-file-system',
    '-p',
    '-T',
    '--no-target-directory',
    '-b',
    '--parents',
    '--remove-destination',
    '--strip-trailing-slashes',
    '--attributes-only',
    '--copy-contents',
    '--debug',
    '-Z',
  ),
  opt(['-t', '--target-directory'], 'required', 'write'),
  opt(['-S', '--suffix'], 'required'),
  opt(
    ['--backup', '--preserve', '--no-preserve', '--reflink', '--sparse', '--context', '--update'],
    'optional',
  ),
]);

/** cp/mv/install: sources are read (and for mv deleted), the last operand or -t DIR is written. */
function copying(removeSources: boolean): Model {
  return (ctx, args) => {
    const parsed = options(ctx, args, copyGrammar);
    const hasTarget = parsed.options.some((o) => o.name === '-t');
    const sources = hasTarget ? parsed.operands : parsed.operands.slice(0, -1);
    const dest = hasTarget ? undefined : parsed.operands.at(-1);
    for (const source of sources) {
      ctx.read(source);
      ctx.pathEffect('read', source, '**');
      if (removeSources) ctx.remove(source);
    }
    if (dest) {
      ctx.write(dest);
      ctx.pathEffect('write', dest, '**');
    }
  };
}

export const cp = copying(false);
export const mv = copying(true);

export const install: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags(
        '-b',
        '-c',
        '-C',
        '--compare',
        '-d',
        '--directory',
        '-D',
        '-p',
        '--preserve-timestamps',
        '-s',
        '--strip',
        '-T',
        '-v',
        '--verbose',
        '-Z',
        '--debug',
      ),
      ...valued('-g', '--group', '-m', '--mode', '-o', '--owner', '-S', '--suffix', '--backup', '--context'),
      opt(['-t', '--target-directory'], 'required', 'write'),
      opt('--strip-program', 'required', 'program'),
    ]),
  );
  if (parsed.options.some((o) => o.name === '-d' || o.name === '--directory')) {
    for (const operand of parsed.operands) ctx.write(operand);
    return;
  }
  const hasTarget = parsed.options.some((o) => o.name === '-t');
  const sources = hasTarget ? parsed.operands : parsed.operands.slice(0, -1);
  for (const source of sources) ctx.read(source);
  const dest = hasTarget ? undefined : parsed.operands.at(-1);
  if (dest) {
    ctx.write(dest);
    // `install x dir/` puts x into the directory; `install -D x a/b` writes exactly a/b.
    if ((lit(dest) ?? '/').endsWith('/')) ctx.pathEffect('write', dest, '**');
  }
};

/** `ln -s TARGET NAME`: reading NAME later reads TARGET, so the target counts as read. */
export const ln: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags(
        '-s',
        '--symbolic',
        '-f',
        '--force',
        '-n',
        '--no-dereference',
        '-r',
        '--relative',
        '-v',
        '--verbose',
        '-T',
        '-L',
        '-P',
        '-b',
        '-i',
        '--interactive',
        '-d',
        '-F',
        '--logical',
        '--physical',
      ),
      opt(['-t', '--target-directory'], 'required', 'write'),
      opt(['-S', '--suffix'], 'required'),
      opt('--backup', 'optional'),
    ]),
  );
  const hasTarget = parsed.options.some((o) => o.name === '-t');
  const operands = parsed.operands;
  const targets = hasTarget || operands.length === 1 ? operands : operands.slice(0, -1);
  for (const target of targets) {
    ctx.read(target);
    ctx.pathEffect('read', target, '**');
  }
  const name = hasTarget ? undefined : operands.length === 1 ? ctx.unknownWord('./<link>') : operands.at(-1);
  if (operands.length === 1 && operands[0]) {
    const base = lit(operands[0])?.split('/').filter(Boolean).at(-1);
    if (base) ctx.write({ kind: 'literal', value: base, pattern: base, glob: false, span: operands[0].span });
  } else if (name) ctx.write(name);
};

const writeOperands =
  (grammar: Grammar, skip = 0): Model =>
  (ctx, args) => {
    const parsed = options(ctx, args, grammar);
    for (const operand of parsed.operands.slice(skip)) ctx.write(operand);
  };

export const mkdir = writeOperands(
  gnu([...flags('-p', '--parents', '-v', '--verbose', '-Z'), ...valued('-m', '--mode', '--context')]),
);

export const touch = writeOperands(
  gnu([
    ...flags('-a', '-c', '--no-create', '-f', '-h', '--no-dereference', '-m'),
    ...valued('-d', '--date', '-t', '--time'),
    opt(['-r', '--reference'], 'required', 'read'),
  ]),
);

export const truncate = writeOperands(
  gnu([
    ...flags('-c', '--no-create', '-o', '--io-blocks'),
    opt(['-r', '--reference'], 'required', 'read'),
    opt(['-s', '--size'], 'required'),
  ]),
);

export const tee = writeOperands(
  gnu([...flags('-a', '--append', '-i', '--ignore-interrupts', '-p'), opt('--output-error', 'optional')]),
);

/** chmod, chown, chgrp: the first operand is a mode or owner, the rest are written. */
export const chmodLike: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags(
        '-R',
        '--recursive',
        '-v',
        '--verbose',
        '-c',
        '--changes',
        '-f',
        '--silent',
        '--quiet',
        '-h',
        '--no-dereference',
        '-H',
        '-L',
        '-P',
        '--preserve-root',
        '--no-preserve-root',
        '--dereference',
      ),
      opt('--reference', 'required', 'read'),
      opt('--from', 'required'),
    ]),
  );
  const hasReference = parsed.options.some((o) => o.name === '--reference');
  // `chmod -x file`: the mode looked like an option; treat an operand-less parse as "mode then files".
  const operands = parsed.operands;
  for (const operand of operands.slice(hasReference ? 0 : 1)) ctx.write(operand);
  if (operands.length === 1 && !hasReference && parsed.options.length > 0)
    ctx.write(operands[0] as WordValue);
};

/** dd takes key=value operands: if= is read, of= is written. */
export const dd: Model = (ctx, args) => {
  for (const arg of args) {
    const text = lit(arg);
    if (text === null) {
      ctx.hazard('opaque-option', 'dd with a run-time operand');
      continue;
    }
    const match = /^(if|of)=(.*)$/.exec(text);
    if (!match) continue;
    const value = match[2] as string;
    const word = literalWord(value, arg.span);
    if (match[1] === 'if') ctx.read(word);
    else ctx.write(word);
  }
};

/**
 * Programs that read the files they are given and write only to stdout. Option values are not told
 * apart from files here: every word that is not an option counts as a path read (over-approximation).
 */
export const reader: Model = (ctx, args) => ctx.generic(args);

/**
 * ls, du, stat and friends show names and sizes, not contents: inside the workspace that is not a
 * read worth judging (so `du -sh *` is fine even if a key file is there); elsewhere it still is.
 */
export const metadata: Model = (ctx, args) => {
  const outside = args.filter((word) => {
    if ((lit(word) ?? '').startsWith('-')) return false;
    // Names and sizes of a path only known at run time say nothing a read of contents would.
    const ref = ctx.resolve(word);
    return ref.pattern !== null && !(ref.pattern === '.' || ref.pattern.startsWith('./'));
  });
  ctx.generic(outside);
};

/** `uniq IN OUT` and `iconv -o OUT` write their output file. */
export const uniq: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags('-c', '-d', '-D', '-i', '-u', '-z'),
      ...valued('-f', '-s', '-w', '--group', '--all-repeated'),
    ]),
  );
  const [input, output] = parsed.operands;
  if (input) ctx.read(input);
  if (output) ctx.write(output);
};

export const splitLike: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu(valued('-a', '-b', '-C', '-l', '-n', '-t', '--additional-suffix', '--filter')),
  );
  if (parsed.options.some((o) => o.name === '--filter'))
    ctx.hazard('unseen-code', 'split --filter runs a shell command');
  const [input, prefix] = parsed.operands;
  if (input) ctx.read(input);
  if (prefix) ctx.pathEffect('write', prefix, '*');
  else
    ctx.pathEffect('write', { kind: 'literal', value: 'x', pattern: 'x', glob: false, span: ctx.span }, '*');
};

/** The suffix each compressor adds to the file it replaces. */
const COMPRESSED_SUFFIX: Readonly<Record<string, string>> = Object.freeze({
  gzip: '.gz',
  bzip2: '.bz2',
  xz: '.xz',
  lzma: '.lzma',
  zstd: '.zst',
  lz4: '.lz4',
  compress: '.Z',
});

/** gzip and friends replace each file with its (de)compressed form unless writing to stdout. */
export const compressor: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags(
        '-c',
        '--stdout',
        '-d',
        '--decompress',
        '-k',
        '--keep',
        '-f',
        '-r',
        '-v',
        '-q',
        '-t',
        '-l',
        '-n',
        '-N',
        '-1',
        '-9',
        '-T',
      ),
      ...valued('-S', '--suffix', '-o'),
    ]),
  );
  const toStdout = parsed.options.some((o) => /^(-c|--stdout|-t|-l)$/.test(o.name));
  // Each program names its output with its own suffix (or -S's): the output path is known exactly,
  // so a rule protecting other names (`*.pem`, `.env.*`) cannot be hit by it.
  const suffixOption = parsed.options.find((o) => o.name === '-S' || o.name === '--suffix');
  const suffix = suffixOption ? lit(suffixOption.value) : (COMPRESSED_SUFFIX[ctx.program] ?? null);
  const decompress =
    parsed.options.some((o) => /^(-d|--decompress)$/.test(o.name)) ||
    /^(gunzip|bunzip2|unxz|unzstd|uncompress)$/.test(ctx.program);
  for (const operand of parsed.operands) {
    ctx.read(operand);
    if (toStdout) continue;
    // The file is replaced by its (de)compressed form beside it: `x` → `x.gz`, `x.gz` → `x`.
    const text = lit(operand);
    if (text !== null && operand.kind === 'literal' && (decompress || suffix !== null)) {
      const out = decompress ? text.replace(/\.[^./]+$/, '') : `${text}${suffix ?? ''}`;
      ctx.write({
        ...operand,
        value: out,
        pattern: decompress
          ? operand.pattern.replace(/\.[^./]+$/, '')
          : `${operand.pattern}${escapeGlob(suffix ?? '')}`,
      });
    } else ctx.write(ctx.unknownWord(`${operand.kind === 'dynamic' ? operand.text : ''} (compressed)`));
    ctx.remove(operand);
  }
};

export const patch: Model = (ctx, args) => {
  const parsed = options(
    ctx,
    args,
    gnu([
      ...flags(
        '-R',
        '--reverse',
        '-N',
        '--forward',
        '-E',
        '-s',
        '--silent',
        '-f',
        '--force',
        '-t',
        '--batch',
        '-u',
        '-c',
        '-n',
        '-e',
        '-l',
        '--dry-run',
        '--verbose',
        '-b',
      ),
      ...valued('-p', '--strip', '-F', '--fuzz', '-V', '-z', '-B', '-Y', '-r', '--reject-file', '-D'),
      opt(['-i', '--input'], 'required', 'read'),
      opt(['-o', '--output'], 'required', 'write'),
      opt(['-d', '--directory'], 'required', 'opaque'),
    ]),
  );
  // The patch decides which files it changes: any file below here, build configuration included.
  ctx.write(ANY_FILE_BELOW(ctx.span));
  for (const operand of parsed.operands) ctx.write(operand);
};

/** `./**` as a path pattern (the analysis' any-depth marker): some file below the current directory. */
export const ANY_FILE_BELOW = (span: WordValue['span']): WordValue => ({
  kind: 'literal',
  value: './…',
  pattern: './**',
  glob: true,
  span,
});
