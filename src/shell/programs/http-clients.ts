import { grammar as defineGrammar } from '../getopt.ts';
import { flags, opt, valued } from '../getopt.ts';
import { hostOf, lit, options, type Model } from '../model.ts';
import { literalWord } from '../words.ts';

/** curl: URLs are network access; -o/-O write; -T, -d @file, -F name=@file read (and upload). */
const CURL_GRAMMAR = defineGrammar({
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

export const curl: Model = (ctx, args) => {
  const parsed = options(ctx, args, CURL_GRAMMAR);
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
        if (file !== '-') ctx.read(literalWord(file, option.word.span));
      }
    }
    if (/^(-F|--form)$/.test(option.name) && value !== null) {
      const match = /=[@<]([^;]*)/.exec(value);
      if (match && match[1] !== '-') {
        const file = match[1] as string;
        ctx.read(literalWord(file, option.word.span));
      }
    }
    if (/^(-H|--header)$/.test(option.name) && value?.startsWith('@')) {
      const file = value.slice(1);
      ctx.read(literalWord(file, option.word.span));
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

const WGET_GRAMMAR = defineGrammar({
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

export const wget: Model = (ctx, args) => {
  const parsed = options(ctx, args, WGET_GRAMMAR);
  if (!parsed.options.some((o) => o.name === '-O')) {
    ctx.pathEffect('write', { kind: 'literal', value: '.', pattern: '.', glob: false, span: ctx.span }, '**');
  }
  for (const url of parsed.operands) ctx.net(hostOf(url));
  if (parsed.operands.length === 0 && !parsed.options.some((o) => /^(-V|--version|-h|--help)$/.test(o.name)))
    ctx.net(null);
};
