import { flags, opt, valued } from '../getopt.ts';
import { hostOf, lit, options, type Model } from '../model.ts';

/** curl: URLs are network access; -o/-O write; -T, -d @file, -F name=@file read (and upload). */
export const curl: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
    options: [
      opt(
        [
          '-o',
          '--output',
          '-c',
          '--cookie-jar',
          '-D',
          '--dump-header',
          '--trace',
          '--trace-ascii',
          '--stderr',
          '--libcurl',
          '--etag-save',
          '--hsts',
          '--alt-svc',
        ],
        'required',
        'write',
      ),
      opt(
        [
          '-T',
          '--upload-file',
          '--netrc-file',
          '--cacert',
          '--cert',
          '-E',
          '--key',
          '--etag-compare',
          '--capath',
          '--crlfile',
          '--proxy-cacert',
          '--proxy-cert',
          '--proxy-key',
        ],
        'required',
        'read',
      ),
      opt(['-K', '--config'], 'required', 'opaque'),
      opt(['--output-dir'], 'required', 'write'),
      opt(['--url'], 'required', 'net'),
      opt(['-x', '--proxy', '--preproxy', '--connect-to', '--resolve', '--doh-url'], 'required', 'opaque'),
      opt(['--unix-socket', '--abstract-unix-socket'], 'required', 'opaque'),
      ...valued(
        '-d',
        '--data',
        '--data-binary',
        '--data-urlencode',
        '--data-raw',
        '--data-ascii',
        '--json',
        '-F',
        '--form',
        '--form-string',
        '-H',
        '--header',
        '-b',
        '--cookie',
        '-u',
        '--user',
        '-A',
        '--user-agent',
        '-e',
        '--referer',
        '-X',
        '--request',
        '-w',
        '--write-out',
        '-m',
        '--max-time',
        '--connect-timeout',
        '-r',
        '--range',
        '--retry',
        '--retry-delay',
        '--retry-max-time',
        '-Y',
        '--speed-limit',
        '-y',
        '--speed-time',
        '-z',
        '--time-cond',
        '--limit-rate',
        '--max-filesize',
        '--max-redirs',
        '-C',
        '--continue-at',
        '--oauth2-bearer',
        '--proto',
        '--proto-redir',
        '--tls-max',
        '--ciphers',
        '--interface',
        '--local-port',
        '--request-target',
        '--variable',
        '--expand-url',
        '--happy-eyeballs-timeout-ms',
        '--keepalive-time',
        '--create-file-mode',
        '-Q',
        '--quote',
      ),
      ...flags(
        '-s',
        '--silent',
        '-S',
        '--show-error',
        '-L',
        '--location',
        '-f',
        '--fail',
        '--fail-with-body',
        '-k',
        '--insecure',
        '-v',
        '--verbose',
        '-i',
        '--include',
        '-I',
        '--head',
        '-G',
        '--get',
        '-N',
        '--no-buffer',
        '--compressed',
        '-O',
        '--remote-name',
        '-J',
        '--remote-header-name',
        '--remote-name-all',
        '-#',
        '--progress-bar',
        '--http1.1',
        '--http2',
        '--http3',
        '-4',
        '-6',
        '-n',
        '--netrc',
        '--create-dirs',
        '-Z',
        '--parallel',
        '-q',
        '--disable',
        '-g',
        '--globoff',
        '-l',
        '--list-only',
        '-a',
        '--append',
        '--no-progress-meter',
        '-V',
        '--version',
        '-h',
        '--help',
        '--raw',
        '--tr-encoding',
        '-j',
        '--junk-session-cookies',
        '--tcp-nodelay',
        '--ssl',
        '--ssl-reqd',
        '--digest',
        '--basic',
        '--ntlm',
        '--negotiate',
        '--anyauth',
        '-p',
        '--proxytunnel',
        '-B',
        '--use-ascii',
        '--path-as-is',
        '-R',
        '--remote-time',
        '--styled-output',
        '--no-keepalive',
        '--xattr',
        '--fail-early',
      ),
    ],
    unknown: 'opaque',
  });
  for (const option of parsed.options) {
    const value = lit(option.value);
    if (
      /^(-d|--data|--data-binary|--data-urlencode|--data-ascii|--json)$/.test(option.name) &&
      option.value
    ) {
      if (value === null) continue;
      const at = value.indexOf('@');
      if (at === 0 || (option.name === '--data-urlencode' && at > 0)) {
        const file = value.slice(at + 1);
        if (file !== '-')
          ctx.read({
            kind: 'literal',
            value: file,
            pattern: file.replace(/[*?[\]\\]/g, (c) => `\\${c}`),
            glob: false,
            span: option.word.span,
          });
      }
    }
    if (/^(-F|--form)$/.test(option.name) && value !== null) {
      const match = /=[@<]([^;]*)/.exec(value);
      if (match && match[1] !== '-') {
        const file = match[1] as string;
        ctx.read({
          kind: 'literal',
          value: file,
          pattern: file.replace(/[*?[\]\\]/g, (c) => `\\${c}`),
          glob: false,
          span: option.word.span,
        });
      }
    }
    if (/^(-H|--header)$/.test(option.name) && value?.startsWith('@')) {
      const file = value.slice(1);
      ctx.read({
        kind: 'literal',
        value: file,
        pattern: file.replace(/[*?[\]\\]/g, (c) => `\\${c}`),
        glob: false,
        span: option.word.span,
      });
    }
    if (option.name === '-O' || option.name === '--remote-name' || option.name === '--remote-name-all') {
      ctx.pathEffect(
        'write',
        { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span },
        '*',
      );
    }
  }
  const urls = parsed.operands;
  if (urls.length === 0 && !parsed.options.some((o) => o.name === '--url')) {
    if (!parsed.options.some((o) => /^(-V|--version|-h|--help)$/.test(o.name))) ctx.net(null);
    return;
  }
  for (const url of urls) ctx.net(hostOf(url));
};

export const wget: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
    options: [
      opt(
        [
          '-O',
          '--output-document',
          '-o',
          '--output-file',
          '-a',
          '--append-output',
          '--save-cookies',
          '--warc-file',
        ],
        'required',
        'write',
      ),
      opt(['-P', '--directory-prefix'], 'required', 'write'),
      opt(
        [
          '-i',
          '--input-file',
          '--post-file',
          '--body-file',
          '--load-cookies',
          '--ca-certificate',
          '--certificate',
          '--private-key',
        ],
        'required',
        'read',
      ),
      opt(['-e', '--execute', '--config', '--use-askpass'], 'required', 'opaque'),
      ...valued(
        '-t',
        '--tries',
        '-T',
        '--timeout',
        '-w',
        '--wait',
        '-U',
        '--user-agent',
        '--header',
        '--post-data',
        '--body-data',
        '--method',
        '-l',
        '--level',
        '-A',
        '--accept',
        '-R',
        '--reject',
        '-D',
        '--domains',
        '--user',
        '--password',
        '-Q',
        '--quota',
        '--limit-rate',
        '--referer',
        '--cut-dirs',
        '-np',
      ),
      ...flags(
        '-q',
        '--quiet',
        '-v',
        '--verbose',
        '-nv',
        '--no-verbose',
        '-c',
        '--continue',
        '-N',
        '--timestamping',
        '-r',
        '--recursive',
        '-m',
        '--mirror',
        '-k',
        '--convert-links',
        '-p',
        '--page-requisites',
        '-nc',
        '--no-clobber',
        '--no-check-certificate',
        '-S',
        '--server-response',
        '--spider',
        '-x',
        '-nd',
        '-nH',
        '-H',
        '-b',
        '--background',
        '-V',
        '--version',
        '-h',
        '--help',
        '-4',
        '-6',
        '--show-progress',
        '--no-parent',
      ),
    ],
    abbreviations: true,
    unknown: 'opaque',
  });
  if (!parsed.options.some((o) => o.name === '-O')) {
    ctx.pathEffect('write', { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span }, '**');
  }
  for (const url of parsed.operands) ctx.net(hostOf(url));
  if (parsed.operands.length === 0 && !parsed.options.some((o) => /^(-V|--version|-h|--help)$/.test(o.name)))
    ctx.net(null);
};

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

export const rsync: Model = (ctx, args) => {
  const parsed = options(ctx, args, {
    options: [
      opt(['-e', '--rsh'], 'required', 'program'),
      opt(['--rsync-path'], 'required', 'opaque'),
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
  ctx.generic(args.filter((a) => /[/~]/.test(lit(a) ?? '')));
  const hosts = args.filter((a) => {
    const text = lit(a);
    return text === null || (!text.startsWith('-') && !text.startsWith('+') && /[.:]/.test(text));
  });
  if (hosts.length === 0) ctx.net(null);
  for (const host of hosts) ctx.net(hostOf(host));
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
