import { flags, opt, valued, type Grammar } from '../getopt.ts';
import { grammar as defineGrammar } from '../getopt.ts';
import { lit, options, type Model, type ModelContext } from '../model.ts';
import type { WordValue } from '../types.ts';
import { scanCode } from './code-scan.ts';

/**
 * `sh -c SCRIPT` parses SCRIPT with the same policy. A script file, a pipe or heredoc into the
 * shell, or an interactive shell runs code the policy never sees.
 */
export const shell: Model = (ctx, args) => {
  let command = false;
  let stdinScript = false;
  let i = 0;
  for (; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) break;
    if (text === '--' || text === '-') {
      i++;
      break;
    }
    if (
      /^[-+]o$/.test(text) ||
      text === '-O' ||
      text === '+O' ||
      text === '--rcfile' ||
      text === '--init-file'
    ) {
      if (text === '--rcfile' || text === '--init-file')
        ctx.hazard('unseen-code', `${ctx.program} ${text} runs a file`);
      i++;
      continue;
    }
    if (text.startsWith('--')) continue;
    if (/^[-+][a-zA-Z]+$/.test(text)) {
      if (text.startsWith('-') && text.includes('c')) command = true;
      if (text.startsWith('-') && text.includes('s')) stdinScript = true;
      continue;
    }
    break;
  }
  const operands = args.slice(i);
  if (command) {
    const script = operands[0];
    if (!script) {
      ctx.hazard('unseen-code', `${ctx.program} -c without a script`);
      return;
    }
    ctx.shell(script);
    return;
  }
  if (operands.length > 0 && !stdinScript) {
    // A script file in the sandbox is the project's own code: it runs contained, like `python3 x.py`.
    const file = operands[0] as WordValue;
    ctx.read(file);
    if (lit(file) === '/dev/fd/63') unseenStdin(ctx);
    else ctx.code('shell', 'file', null);
    ctx.generic(operands.slice(1));
    return;
  }
  if (ctx.stdinText !== null) {
    // A quoted heredoc or here-string shows the script: judge it like `sh -c`.
    ctx.shell({ kind: 'literal', value: ctx.stdinText, pattern: '', glob: false, span: ctx.span });
    return;
  }
  unseenStdin(ctx);
};

/** A shell reading commands from a pipe or a substitution: text the command does not show. */
function unseenStdin(ctx: ModelContext): void {
  ctx.code('shell', 'stdin', null);
  ctx.hazard('unseen-code', `${ctx.program} runs commands from its input, which the policy cannot see`);
}

interface InterpreterSpec {
  readonly lang: string;
  readonly grammar: Grammar;
  /** Options whose value is inline program text. */
  readonly inline: readonly string[];
  /** Options that load code from somewhere we cannot see (a module, a file, a library). */
  readonly loads?: readonly string[];
  /** Options after which the interpreter only reports something (version, syntax check) and runs nothing. */
  readonly inert?: readonly string[];
  /** Options that take the rest of argv (python -m): the module name is what runs. */
  readonly module?: readonly string[];
  /**
   * Options that make the interpreter run the project's test files (`node --test`): the operands
   * (or, with none, the files it finds in the workspace) are files, never program text from stdin.
   */
  readonly testRunner?: readonly string[];
}

function interpreter(spec: InterpreterSpec): Model {
  return (ctx, args) => {
    const parsed = options(ctx, args, spec.grammar);
    const names = new Set(parsed.options.map((o) => o.name));
    for (const option of parsed.options) {
      if (spec.inline.includes(option.name)) {
        // Code the command shows runs contained; what it names across the boundary is judged.
        const text = lit(option.value);
        ctx.code(spec.lang, 'inline', text);
        if (text === null)
          ctx.hazard('unseen-code', `${ctx.program} ${option.name} runs code only known at run time`);
        else scanCode(ctx, text);
        // The remaining words are its arguments, often files it reads (`perl -ne print FILE`).
        ctx.generic(parsed.operands);
        return;
      }
      if (spec.loads?.includes(option.name)) {
        ctx.code(spec.lang, 'unknown', null);
      }
    }
    const module = parsed.options.find((o) => spec.module?.includes(o.name));
    if (module) {
      runModule(ctx, lit(module.value), parsed.operands);
      return;
    }
    if (spec.inert?.some((m) => names.has(m))) return;
    if (spec.testRunner?.some((m) => names.has(m))) {
      for (const operand of parsed.operands) ctx.read(operand);
      ctx.code(spec.lang, 'file', null);
      return;
    }
    const script = parsed.operands[0];
    if (script && lit(script) !== '-') {
      ctx.read(script);
      for (const operand of parsed.operands.slice(1)) ctx.generic([operand]);
      ctx.code(spec.lang, 'file', null);
      return;
    }
    if (ctx.stdinText !== null) {
      ctx.code(spec.lang, 'stdin', ctx.stdinText);
      scanCode(ctx, ctx.stdinText);
      return;
    }
    // Program text from a pipe or a terminal is text the command does not show.
    ctx.code(spec.lang, ctx.stdin === 'terminal' ? 'unknown' : 'stdin', null);
    ctx.hazard('unseen-code', `${ctx.program} runs program text from its input, which the policy cannot see`);
  };
}

/** `python -m MODULE args`: pip is judged as pip; the module's arguments may be files it reads. */
function runModule(ctx: ModelContext, module: string | null, operands: readonly WordValue[]): void {
  if (module === null) {
    ctx.hazard('dynamic-command-name', `${ctx.program} -m with a module only known at run time`);
    return;
  }
  if (module === 'pip' || module === 'pip3') {
    ctx.run([{ kind: 'literal', value: 'pip', pattern: 'pip', glob: false, span: ctx.span }, ...operands]);
    return;
  }
  // Other modules (pytest, unittest, http.server…) run inside the sandbox like any program.
}

/** python: `-c` is inline code, `-m` runs a module (the rest of argv is its own). */
export const python = interpreter({
  lang: 'python',
  grammar: defineGrammar({
    options: [
      opt('-c', 'required', 'none', true),
      opt('-m', 'required', 'none', true),
      ...flags(
        '-b',
        '-B',
        '-d',
        '-E',
        '-h',
        '-i',
        '-I',
        '-O',
        '-OO',
        '-P',
        '-q',
        '-R',
        '-s',
        '-S',
        '-u',
        '-v',
        '-V',
        '-x',
        '--version',
        '--help',
      ),
      ...valued('-W', '-X', '--check-hash-based-pycs'),
    ],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-c'],
  module: ['-m'],
  inert: ['-V', '--version', '-h', '--help'],
});

export const node = interpreter({
  lang: 'javascript',
  grammar: defineGrammar({
    options: [
      opt(['-e', '--eval'], 'required', 'none', true),
      opt(['-p', '--print'], 'required', 'none', true),
      opt(['-r', '--require'], 'required'),
      opt(['--import', '--loader', '--experimental-loader'], 'required'),
      ...flags(
        '-v',
        '--version',
        '-h',
        '--help',
        '-c',
        '--check',
        '-i',
        '--interactive',
        '--test',
        '--test-only',
        '--test-force-exit',
        '--test-update-snapshots',
        '--experimental-test-coverage',
        '--watch',
        '--no-warnings',
        '--enable-source-maps',
        '--trace-warnings',
        '--experimental-strip-types',
        '--experimental-vm-modules',
        '--no-deprecation',
      ),
      ...valued(
        '--input-type',
        '--max-old-space-size',
        '--stack-size',
        '--conditions',
        '-C',
        '--env-file',
        '--test-reporter',
        '--test-reporter-destination',
        '--test-name-pattern',
        '--test-skip-pattern',
        '--test-timeout',
        '--test-concurrency',
        '--test-shard',
      ),
    ],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-e', '-p'],
  loads: ['-r', '--import'],
  inert: ['-v', '--version', '-h', '--help', '-c'],
  testRunner: ['--test'],
});

export const perl = interpreter({
  lang: 'perl',
  grammar: defineGrammar({
    options: [
      opt(['-e'], 'required'),
      opt(['-E'], 'required'),
      ...flags(
        '-n',
        '-p',
        '-a',
        '-l',
        '-s',
        '-T',
        '-t',
        '-w',
        '-W',
        '-X',
        '-c',
        '-v',
        '-V',
        '-h',
        '-0',
        '-u',
        '-U',
        '-S',
        '-x',
        '-C',
        '-g',
      ),
      opt(['-i'], 'optional'),
      opt(['-I'], 'required'),
      opt(['-M', '-m'], 'required'),
      opt(['-F'], 'required'),
      opt(['-d', '-D'], 'optional', 'opaque'),
    ],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-e', '-E'],
  loads: ['-M'],
  inert: ['-v', '-V', '-h', '-c'],
});

export const ruby = interpreter({
  lang: 'ruby',
  grammar: defineGrammar({
    options: [
      opt(['-e'], 'required'),
      opt(['-r'], 'required'),
      opt(['-I'], 'required'),
      ...flags('-n', '-p', '-a', '-l', '-s', '-w', '-W', '-v', '--version', '-c', '-h', '--help', '-d'),
      opt(['-C'], 'required', 'opaque'),
    ],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-e'],
  loads: ['-r'],
  inert: ['--version', '-c', '-h', '--help'],
});

export const lua = interpreter({
  lang: 'lua',
  grammar: defineGrammar({
    options: [opt('-e', 'required'), opt('-l', 'required'), ...flags('-i', '-v', '-E', '-W')],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-e'],
  loads: ['-l'],
  inert: ['-v'],
});

export const php = interpreter({
  lang: 'php',
  grammar: defineGrammar({
    options: [
      opt('-r', 'required'),
      opt('-f', 'required'),
      opt('-B', 'required'),
      opt('-R', 'required'),
      opt('-E', 'required'),
      opt('-d', 'required', 'opaque'),
      opt('-c', 'required', 'opaque'),
      ...flags('-a', '-v', '--version', '-l', '-m', '-i', '-n', '-h', '-q', '-s', '-w'),
      opt('-S', 'required', 'net'),
      opt('-t', 'required'),
    ],
    stopAtOperand: true,
    unknown: 'opaque',
  }),
  inline: ['-r', '-B', '-R', '-E'],
  loads: ['-f'],
  inert: ['-v', '--version', '-l', '-m', '-i', '-h'],
});

/** Languages with no model here: any argument may be code; a version query alone is fine. */
export function opaqueInterpreter(lang: string): Model {
  return (ctx: ModelContext, args) => {
    const only = lit(args[0]);
    if (args.length === 1 && only !== null && /^(-v|-V|--version|-h|--help|version)$/.test(only)) return;
    ctx.code(lang, 'unknown', null);
    ctx.generic(args);
  };
}
