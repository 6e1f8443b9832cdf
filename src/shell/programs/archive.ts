import { flags, opt, valued, type Grammar } from '../getopt.ts';
import { grammar as defineGrammar } from '../getopt.ts';
import { lit, options, type Model } from '../model.ts';
import type { WordValue } from '../types.ts';
import { programOption } from './escape-hatch.ts';

/** What `tar -I` is for: a compressor, with its own options. */
const COMPRESSORS = new Set([
  'gzip',
  'pigz',
  'bzip2',
  'pbzip2',
  'lbzip2',
  'xz',
  'pixz',
  'zstd',
  'pzstd',
  'lz4',
  'lzip',
  'plzip',
  'lzma',
  'lzop',
  'brotli',
  'compress',
]);
/** Harmless consumers of each member's content for `--to-command`. */
const STREAM_SINKS = new Set(['cat', 'wc', 'md5sum', 'sha1sum', 'sha256sum', 'sha512sum', 'cksum']);
const REMOTE_SHELLS = new Set(['ssh', 'rsh']);

const tarGrammar: Grammar = defineGrammar({
  options: [
    ...flags(
      '-c',
      '--create',
      '-x',
      '--extract',
      '--get',
      '-t',
      '--list',
      '-r',
      '--append',
      '-u',
      '--update',
      '-A',
      '--catenate',
      '--concatenate',
      '-d',
      '--diff',
      '--compare',
      '--delete',
      '-z',
      '--gzip',
      '-j',
      '--bzip2',
      '-J',
      '--xz',
      '--zstd',
      '--lzma',
      '--lzip',
      '--lzop',
      '-Z',
      '--compress',
      '-a',
      '--auto-compress',
      '-v',
      '--verbose',
      '-p',
      '--preserve-permissions',
      '-h',
      '--dereference',
      '-O',
      '--to-stdout',
      '-k',
      '--keep-old-files',
      '--keep-newer-files',
      '--overwrite',
      '-W',
      '--verify',
      '-S',
      '--sparse',
      '-m',
      '--touch',
      '--numeric-owner',
      '--no-same-owner',
      '--same-owner',
      '--xattrs',
      '--acls',
      '--selinux',
      '-l',
      '--check-links',
      '-i',
      '--ignore-zeros',
      '-B',
      '--read-full-records',
      '-M',
      '--multi-volume',
      '--totals',
      '-w',
      '--interactive',
      '-s',
      '--same-order',
      '--no-recursion',
      '--recursion',
      '--wildcards',
      '--no-wildcards',
      '--anchored',
      '--ignore-case',
      '--exclude-vcs',
      '--exclude-vcs-ignores',
      '--exclude-backups',
      '--full-time',
      '--utc',
      '--show-transformed-names',
      '--null',
      '--verbatim-files-from',
      '--unlink-first',
      '-U',
      '--skip-old-files',
      '--one-file-system',
      '--no-overwrite-dir',
      '--delay-directory-restore',
      '--ignore-failed-read',
      '--remove-files',
      '-o',
      '-G',
      '--incremental',
      '-R',
      '--block-number',
      '--seek',
      '--no-seek',
      '--force-local',
    ),
    opt(['-f', '--file'], 'required'),
    opt(['-C', '--directory'], 'required'),
    opt(['-T', '--files-from', '-X', '--exclude-from'], 'required', 'read'),
    opt(['-I', '--use-compress-program'], 'required'),
    opt(['--to-command'], 'required'),
    opt(['-F', '--info-script', '--new-volume-script', '--rsh-command', '--rmt-command'], 'required'),
    opt(['--checkpoint-action'], 'required'),
    opt(['--checkpoint'], 'optional'),
    opt(['--index-file', '-g', '--listed-incremental'], 'required', 'write'),
    opt(['-P', '--absolute-names'], 'none', 'opaque'),
    ...valued(
      '--exclude',
      '--transform',
      '--xform',
      '--strip-components',
      '--owner',
      '--group',
      '--mode',
      '--mtime',
      '-N',
      '--newer',
      '--after-date',
      '--newer-mtime',
      '-b',
      '--blocking-factor',
      '-L',
      '--tape-length',
      '-H',
      '--format',
      '-V',
      '--label',
      '--warning',
      '--sort',
      '--record-size',
      '--occurrence',
      '--quoting-style',
      '--backup',
      '--suffix',
      '--volno-file',
      '--exclude-tag',
      '--exclude-tag-all',
      '--exclude-tag-under',
      '--exclude-ignore',
      '--exclude-ignore-recursive',
      '--hole-detection',
      '--pax-option',
      '--owner-map',
      '--group-map',
      '--clamp-mtime',
      '--level',
      '--block-compress',
      '--add-file',
    ),
  ],
  abbreviations: true,
  unknown: 'opaque',
});

/** tar: old-style first word (`tar czf x.tgz dir`) is a cluster of short options. */
export const tar: Model = (ctx, args) => {
  const first = lit(args[0]);
  const words: WordValue[] =
    first !== null && /^[a-zA-Z]+$/.test(first) && args[0]?.kind === 'literal'
      ? [{ ...args[0], value: `-${first}` }, ...args.slice(1)]
      : [...args];
  const parsed = options(ctx, words, tarGrammar);
  const names = new Set(parsed.options.map((o) => o.name));
  const creating = names.has('-c') || names.has('-r') || names.has('-u') || names.has('-A');
  const extracting = names.has('-x');
  for (const option of parsed.options) {
    if (option.name === '--checkpoint-action') {
      const action = lit(option.value);
      // exec= runs a shell command at each checkpoint: the classic tar escape.
      if (action === null || action.startsWith('exec'))
        ctx.hazard('escape-hatch', `tar --checkpoint-action=${action ?? '…'} runs a command`, 'deny');
    }
    if (option.name === '-I') programOption(ctx, option.value, COMPRESSORS, 'tar -I');
    if (option.name === '--to-command') programOption(ctx, option.value, STREAM_SINKS, 'tar --to-command');
    if (option.name === '--rsh-command') programOption(ctx, option.value, REMOTE_SHELLS, 'tar --rsh-command');
    if (/^(-F|--info-script|--new-volume-script|--rmt-command)$/.test(option.name))
      programOption(ctx, option.value, new Set(), `tar ${option.name}`);
    if (option.name === '-f' && option.value) {
      if (lit(option.value) === '-') continue;
      if (creating) ctx.write(option.value);
      else ctx.read(option.value);
    }
    if (option.name === '--remove-files') for (const operand of parsed.operands) ctx.remove(operand);
  }
  const directory = parsed.options.find((o) => o.name === '-C')?.value;
  if (creating) {
    for (const operand of parsed.operands) {
      ctx.read(operand);
      ctx.pathEffect('read', operand, '**');
    }
  }
  if (extracting) {
    const dest =
      directory ?? ({ kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span } as WordValue);
    ctx.pathEffect('write', dest, '**');
    if (names.has('-O')) return;
  }
};

const ZIP_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-r',
      '-R',
      '-q',
      '-v',
      '-j',
      '-D',
      '-m',
      '-u',
      '-f',
      '-d',
      '-g',
      '-o',
      '-y',
      '-0',
      '-1',
      '-2',
      '-3',
      '-4',
      '-5',
      '-6',
      '-7',
      '-8',
      '-9',
      '-T',
      '--test',
      '-X',
      '-k',
      '-l',
      '-ll',
      '-A',
      '-J',
      '-F',
      '-FF',
      '-e',
      '-c',
      '-z',
      '-S',
      '-@',
    ),
    opt(['-TT', '--unzip-command'], 'required'),
    ...valued('-n', '-t', '-tt', '-P', '-b', '-x', '-i', '-s', '-sp', '-Z', '-O', '--password'),
  ],
  unknown: 'opaque',
});

export const zip: Model = (ctx, args) => {
  const parsed = options(ctx, args, ZIP_GRAMMAR);
  // zip's `-TT cmd` looks like a cluster to getopt; find it by the word itself too.
  args.forEach((word, index) => {
    const text = lit(word);
    // -TT names the program that tests the archive: `unzip` is what it is for; anything else runs.
    if (text === '-TT' || text === '--unzip-command')
      programOption(ctx, args[index + 1], new Set(['unzip']), `zip ${text}`);
  });
  const [archive, ...files] = parsed.operands;
  if (archive) ctx.write(archive);
  for (const file of files) {
    ctx.read(file);
    ctx.pathEffect('read', file, '**');
  }
  if (parsed.options.some((o) => o.name === '-m')) for (const file of files) ctx.remove(file);
};

const UNZIP_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-l',
      '-t',
      '-z',
      '-v',
      '-o',
      '-n',
      '-q',
      '-qq',
      '-j',
      '-a',
      '-aa',
      '-b',
      '-C',
      '-L',
      '-X',
      '-K',
      '-U',
      '-V',
      '-M',
      '-p',
      '-c',
      '-f',
      '-u',
    ),
    opt('-d', 'required'),
    ...valued('-x', '-P', '-I', '-O'),
  ],
  unknown: 'opaque',
});

export const unzip: Model = (ctx, args) => {
  const parsed = options(ctx, args, UNZIP_GRAMMAR);
  const [archive] = parsed.operands;
  if (archive) ctx.read(archive);
  if (parsed.options.some((o) => /^-(l|t|z|v|p|c)$/.test(o.name))) return;
  const dest =
    parsed.options.find((o) => o.name === '-d')?.value ??
    ({ kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span } as WordValue);
  ctx.pathEffect('write', dest, '**');
};
