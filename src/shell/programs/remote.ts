import { grammar as defineGrammar } from '../getopt.ts';
import { flags, opt, valued } from '../getopt.ts';
import { hostOf, lit, options, type Model } from '../model.ts';
import { programOption } from './escape-hatch.ts';
import { netHosts } from './sockets.ts';

/** ssh -o options that run local commands. */
const SSH_COMMAND_OPTIONS =
  /^(proxycommand|localcommand|permitlocalcommand|knownhostscommand|match|remotecommand|proxyusefdpass|include|sendenv|setenv)\b/i;

export const ssh: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
    options: [
      ...flags(
        '-4',
        '-6',
        '-A',
        '-a',
        '-C',
        '-f',
        '-G',
        '-g',
        '-K',
        '-k',
        '-M',
        '-N',
        '-n',
        '-q',
        '-s',
        '-T',
        '-t',
        '-V',
        '-v',
        '-X',
        '-x',
        '-Y',
        '-y',
        '-r',
        '-p3',
        '-3',
        '-B',
        '-p',
        '-R',
      ),
      opt('-o', 'required'),
      opt('-F', 'required', 'opaque'),
      opt(['-S', '-D'], 'required', ctx.program === 'ssh' ? 'none' : 'program'),
      opt(['-i', '-E'], 'required', 'read'),
      opt('-J', 'required', 'net'),
      ...valued('-b', '-c', '-e', '-I', '-L', '-l', '-m', '-O', '-Q', '-W', '-w', '-P', '-i', '-l'),
    ],
    stopAtOperand: ctx.program === 'ssh',
    unknown: 'opaque',
  });
  for (const option of parsed.options) {
    if (option.name !== '-o') continue;
    const text = lit(option.value);
    if (text === null || SSH_COMMAND_OPTIONS.test(text))
      ctx.hazard('unseen-code', `${ctx.program} -o ${text ?? '…'} runs a local command`);
  }
  if (ctx.program === 'ssh') {
    const [host, ...command] = parsed.operands;
    ctx.net(host ? hostOf(host) : null);
    if (command.length > 0 || ctx.stdin !== 'terminal')
      ctx.code('remote-shell', command.length > 0 ? 'inline' : 'stdin', command.map(lit).join(' '));
    return;
  }
  // scp / sftp: remote operands are network access, local ones are read or written.
  const operands = parsed.operands;
  operands.forEach((operand, index) => {
    const text = lit(operand);
    if (text !== null && /^([^/:]+@)?[^/:]+:/.test(text)) ctx.net(hostOf(operand));
    else if (index === operands.length - 1 && operands.length > 1) ctx.write(operand);
    else ctx.read(operand);
  });
};

const RSYNC_GRAMMAR = defineGrammar({
  options: [
    opt(['-e', '--rsh'], 'required'),
    opt(['--rsync-path'], 'required'),
    opt(
      ['--files-from', '--exclude-from', '--include-from', '--password-file', '--read-batch'],
      'required',
      'read',
    ),
    opt(
      [
        '--log-file',
        '--write-batch',
        '--only-write-batch',
        '--backup-dir',
        '--partial-dir',
        '--temp-dir',
        '-T',
      ],
      'required',
      'write',
    ),
    opt(['--config', '--daemon'], 'optional', 'opaque'),
    ...valued(
      '--exclude',
      '--include',
      '-f',
      '--filter',
      '--chmod',
      '--chown',
      '--bwlimit',
      '--timeout',
      '--contimeout',
      '--max-size',
      '--min-size',
      '--port',
      '--suffix',
      '--compare-dest',
      '--copy-dest',
      '--link-dest',
      '-B',
      '--block-size',
      '--info',
      '--debug',
      '--out-format',
      '--log-file-format',
      '--iconv',
      '--max-delete',
      '--usermap',
      '--groupmap',
      '--modify-window',
      '--protocol',
      '--checksum-choice',
      '--compress-choice',
      '--compress-level',
      '--skip-compress',
      '--sockopts',
      '--stop-after',
      '--stop-at',
      '-M',
      '--remote-option',
    ),
    ...flags(
      '-a',
      '--archive',
      '-r',
      '--recursive',
      '-v',
      '--verbose',
      '-z',
      '--compress',
      '-P',
      '--progress',
      '--partial',
      '-n',
      '--dry-run',
      '-h',
      '--human-readable',
      '-u',
      '--update',
      '-c',
      '--checksum',
      '-l',
      '--links',
      '-L',
      '-p',
      '-t',
      '-g',
      '-o',
      '-D',
      '-H',
      '-A',
      '-X',
      '-x',
      '-q',
      '-i',
      '--itemize-changes',
      '--stats',
      '--delete',
      '--delete-after',
      '--delete-before',
      '--delete-during',
      '--delete-excluded',
      '--remove-source-files',
      '-R',
      '--relative',
      '-W',
      '--whole-file',
      '-S',
      '--sparse',
      '--inplace',
      '--append',
      '-b',
      '--backup',
      '-m',
      '--prune-empty-dirs',
      '--numeric-ids',
      '-C',
      '--cvs-exclude',
      '-I',
      '--ignore-times',
      '--size-only',
      '-k',
      '-K',
      '-O',
      '-J',
      '-E',
      '-U',
      '-N',
      '-8',
      '-4',
      '-6',
      '--mkpath',
      '--no-motd',
      '--list-only',
      '--existing',
      '--ignore-existing',
      '--force',
      '--safe-links',
      '--copy-unsafe-links',
      '--munge-links',
      '-y',
      '--fuzzy',
      '-F',
      '-0',
      '--from0',
      '-s',
      '--protect-args',
      '--secluded-args',
      '--version',
      '--help',
    ),
  ],
  abbreviations: true,
  unknown: 'opaque',
});

export const rsync: Model = (ctx, args) => {
  const parsed = options(ctx, args, RSYNC_GRAMMAR);
  for (const option of parsed.options) {
    // -e names the remote shell (ssh); --rsync-path the program on the other side (rsync).
    if (option.name === '-e') programOption(ctx, option.value, new Set(['ssh', 'rsh']), 'rsync -e');
    if (option.name === '--rsync-path')
      programOption(ctx, option.value, new Set(['rsync', 'sudo']), 'rsync --rsync-path');
  }
  const operands = parsed.operands;
  const deletes = parsed.options.some((o) => /^--(delete|remove-source-files)/.test(o.name));
  operands.forEach((operand, index) => {
    const text = lit(operand);
    if (text !== null && (/^([^/:]+@)?[^/:]+::?/.test(text) || text.startsWith('rsync://'))) {
      ctx.net(hostOf(operand));
      return;
    }
    if (index === operands.length - 1 && operands.length > 1) {
      ctx.write(operand);
      ctx.pathEffect('write', operand, '**');
      if (deletes) ctx.pathEffect('delete', operand, '**');
    } else {
      ctx.read(operand);
      ctx.pathEffect('read', operand, '**');
    }
  });
};

/** Programs whose whole purpose is talking to a host: every operand that looks like one is the peer. */
export const netTool: Model = (ctx, args) => {
  // `-V`, `--version`, `-h` alone: the tool only reports itself.
  if (args.length === 1 && /^(-V|-v|--version|-h|--help|version)$/.test(lit(args[0]) ?? '')) return;
  netHosts(ctx, args);
};

export const gh: Model = (ctx, args) => {
  const first = lit(args[0]);
  if (
    args.length === 0 ||
    first === '--version' ||
    first === '--help' ||
    first === 'help' ||
    first === 'version'
  )
    return;
  ctx.net('github.com');
  ctx.generic(args.filter((a) => /[/~]|^\./.test(lit(a) ?? '/')));
};

/** openssl: only `s_client -connect host:port` (and friends) talk to a host; the rest is local crypto. */
export const openssl: Model = (ctx, args) => {
  const sub = lit(args[0]);
  if (sub !== null && /^(s_client|s_time)$/.test(sub)) {
    const at = args.findIndex((a) => /^-(connect|host)$/.test(lit(a) ?? ''));
    const target = at >= 0 ? lit(args[at + 1]) : null;
    ctx.net(target === null ? null : target.replace(/:\d+$/, '').toLowerCase() || null);
    return;
  }
  // Options' values name files (`-in key.pem`, `-out x`): reads and writes are judged by path.
  for (let i = 1; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === '-out' && args[i + 1]) ctx.write(args[++i] as (typeof args)[number]);
    else if (/^-(in|key|cert|CAfile|inkey|signkey|config|passin)$/.test(text ?? '') && args[i + 1])
      ctx.read(args[++i] as (typeof args)[number]);
  }
};
