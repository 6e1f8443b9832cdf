import { flags, opt, valued, type Grammar } from '../getopt.ts';
import { grammar as defineGrammar } from '../getopt.ts';
import { lit, options, type Model, type ModelContext } from '../model.ts';
import { ALL_VARIABLES } from '../types.ts';
import type { WordValue } from '../types.ts';
import { shellEscapeHatch } from './escape-hatch.ts';

/** Splits leading NAME=VALUE words off (as `env` and `sudo` accept them); each is an environment change. */
function takeAssignments(ctx: ModelContext, words: readonly WordValue[]): readonly WordValue[] {
  let i = 0;
  for (; i < words.length; i++) {
    const text = lit(words[i]);
    const match = text === null ? null : /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(text);
    if (!match) break;
    const name = match[1] as string;
    ctx.envChange(name);
    ctx.hazard('assignment-prefix', `${ctx.program} sets ${name} for the command it runs`);
  }
  return words.slice(i);
}

const envGrammar: Grammar = defineGrammar({
  options: [
    ...flags('-i', '--ignore-environment', '-0', '--null', '-v', '--debug'),
    opt(['-u', '--unset'], 'required'),
    opt(['-C', '--chdir'], 'required', 'opaque'),
    // -S splits one string into several words by its own rules: we do not re-implement them.
    opt(['-S', '--split-string'], 'required', 'opaque'),
    opt(['-P'], 'required', 'opaque'),
    opt(['--block-signal', '--default-signal', '--ignore-signal'], 'optional'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const env: Model = (ctx, args) => {
  const parsed = options(ctx, args, envGrammar);
  const rest = takeAssignments(ctx, parsed.operands);
  if (parsed.options.some((o) => o.name === '-S')) return;
  if (rest.length === 0) {
    ctx.envRead(ALL_VARIABLES);
    ctx.setExecArgv(['env']);
    return;
  }
  ctx.run(rest);
};

/** A wrapper whose grammar is getopt-like and whose first operand(s) are its own, then the command. */
function simpleWrapper(grammar: Grammar, ownOperands = 0): Model {
  return (ctx, args) => {
    const parsed = options(ctx, args, grammar);
    const rest = parsed.operands.slice(ownOperands);
    if (rest.length === 0) return;
    ctx.run(rest);
  };
}

export const timeout = simpleWrapper(
  {
    options: [
      opt(['-s', '--signal'], 'required'),
      opt(['-k', '--kill-after'], 'required'),
      ...flags('--preserve-status', '--foreground', '-v', '--verbose', '-f', '-p'),
    ],
    stopAtOperand: true,
    abbreviations: true,
    unknown: 'opaque',
  },
  1,
);

export const nice: Model = (ctx, args) => {
  // `nice -19 cmd` is the old spelling of `nice -n 19 cmd`.
  const first = lit(args[0]);
  const rest = first !== null && /^-\d+$/.test(first) ? args.slice(1) : args;
  simpleWrapper({
    options: [opt(['-n', '--adjustment'], 'required')],
    stopAtOperand: true,
    abbreviations: true,
    unknown: 'opaque',
  })(ctx, rest);
};

export const nohup = simpleWrapper({ options: [], stopAtOperand: true, unknown: 'opaque' });

export const stdbuf = simpleWrapper({
  options: [
    opt(['-i', '--input'], 'required'),
    opt(['-o', '--output'], 'required'),
    opt(['-e', '--error'], 'required'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const setsid = simpleWrapper({
  options: flags('-c', '--ctty', '-f', '--fork', '-w', '--wait'),
  stopAtOperand: true,
  unknown: 'opaque',
});

export const time = simpleWrapper({
  options: [
    ...flags('-p', '--portability', '-a', '--append', '-v', '--verbose', '-q', '--quiet'),
    opt(['-f', '--format'], 'required'),
    opt(['-o', '--output'], 'required', 'write'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const ionice = simpleWrapper({
  options: [
    opt(['-c', '--class'], 'required'),
    opt(['-n', '--classdata'], 'required'),
    ...flags('-t', '--ignore'),
    opt(['-p', '--pid'], 'required', 'opaque'),
  ],
  stopAtOperand: true,
  unknown: 'opaque',
});

/** `command rm` runs rm; `command -v rm` only looks it up. */
const COMMAND_GRAMMAR = defineGrammar({
  options: flags('-p', '-v', '-V'),
  stopAtOperand: true,
  unknown: 'opaque',
});

export const command: Model = (ctx, args) => {
  const parsed = options(ctx, args, COMMAND_GRAMMAR);
  if (parsed.options.some((o) => o.name === '-v' || o.name === '-V')) return;
  if (parsed.operands.length > 0) ctx.run(parsed.operands);
};

export const builtin: Model = (ctx, args) => {
  if (args.length > 0) ctx.run(args);
};

/** `exec cmd` replaces the shell with cmd; `exec 3<>/dev/tcp/…` alone keeps descriptors open for later commands. */
const EXEC_GRAMMAR = defineGrammar({
  options: [...flags('-c', '-l'), opt('-a', 'required')],
  stopAtOperand: true,
  unknown: 'opaque',
});

export const exec: Model = (ctx, args) => {
  const parsed = options(ctx, args, EXEC_GRAMMAR);
  if (parsed.operands.length > 0) ctx.run(parsed.operands);
  else ctx.stateChange('exec (persistent redirections)');
};

const XARGS_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-0',
      '--null',
      '-p',
      '--interactive',
      '-r',
      '--no-run-if-empty',
      '-t',
      '--verbose',
      '-x',
      '--exit',
      '-o',
      '--open-tty',
    ),
    opt(['-a', '--arg-file'], 'required', 'read'),
    opt(['-d', '--delimiter'], 'required'),
    opt(['-E'], 'required'),
    opt(['-e', '--eof'], 'optional'),
    opt(['-I'], 'required'),
    opt(['-i', '--replace'], 'optional'),
    opt(['-L', '--max-lines'], 'required'),
    opt(['-l'], 'optional'),
    opt(['-n', '--max-args'], 'required'),
    opt(['-P', '--max-procs'], 'required'),
    opt(['-s', '--max-chars'], 'required'),
    opt(['--process-slot-var'], 'required', 'opaque'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const xargs: Model = (ctx, args) => {
  const parsed = options(ctx, args, XARGS_GRAMMAR);
  const inner = parsed.operands.length > 0 ? parsed.operands : [ctx.unknownWord('echo')];
  const replace = parsed.options.find((o) => o.name === '-I' || o.name === '-i');
  const placeholder = replace ? (lit(replace.value) ?? (replace.name === '-i' ? '{}' : null)) : null;
  if (shellEscapeHatch(ctx, inner, placeholder, 'xargs')) return;
  // The arguments xargs adds come from its input: unknown words, possibly options.
  ctx.run([...inner, ctx.unknownWord('<input>')], 'terminal');
};

const SUDO_GRAMMAR = defineGrammar({
  options: [
    ...flags('-A', '-b', '-E', '-H', '-K', '-k', '-n', '-P', '-S', '-B', '-N'),
    ...valued('-C', '-g', '-h', '-p', '-r', '-t', '-T', '-U', '-u', '-D', '-R'),
    opt(['-i', '--login'], 'none', 'opaque'),
    opt(['-s', '--shell'], 'none', 'opaque'),
    opt(['-e', '--edit'], 'none', 'opaque'),
    opt(['--preserve-env'], 'optional', 'opaque'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const sudo: Model = (ctx, args) => {
  ctx.hazard('privilege', `${ctx.program} runs a command as another user`);
  const parsed = options(ctx, args, SUDO_GRAMMAR);
  const rest = takeAssignments(ctx, parsed.operands);
  if (rest.length > 0) ctx.run(rest);
};

const FLOCK_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-s',
      '--shared',
      '-x',
      '-e',
      '--exclusive',
      '-u',
      '--unlock',
      '-n',
      '--nonblock',
      '-o',
      '--close',
      '-F',
      '--no-fork',
      '--verbose',
    ),
    ...valued('-w', '--timeout', '-E', '--conflict-exit-code'),
    opt(['-c', '--command'], 'required', 'shell'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const flock: Model = (ctx, args) => {
  const parsed = options(ctx, args, FLOCK_GRAMMAR);
  const [lock, ...rest] = parsed.operands;
  if (lock) ctx.write(lock);
  if (rest.length > 0) ctx.run(rest);
};

/** `watch` joins its words with spaces and runs them with `sh -c` (unless `-x`). */
const WATCH_GRAMMAR = defineGrammar({
  options: [
    ...flags(
      '-b',
      '--beep',
      '-e',
      '--errexit',
      '-g',
      '--chgexit',
      '-t',
      '--no-title',
      '-c',
      '--color',
      '-p',
      '--precise',
      '-w',
      '--no-wrap',
      '-r',
      '--no-rerun',
      '-C',
      '--no-color',
      '-f',
      '--follow',
    ),
    opt(['-x', '--exec']),
    opt(['-d', '--differences'], 'optional'),
    ...valued('-n', '--interval', '-q', '--equexit'),
  ],
  stopAtOperand: true,
  abbreviations: true,
  unknown: 'opaque',
});

export const watch: Model = (ctx, args) => {
  const parsed = options(ctx, args, WATCH_GRAMMAR);
  if (parsed.operands.length === 0) return;
  if (parsed.options.some((o) => o.name === '-x')) {
    ctx.run(parsed.operands);
    return;
  }
  const texts = parsed.operands.map(lit);
  if (texts.some((t) => t === null)) {
    ctx.shell(ctx.unknownWord('watch command'));
    return;
  }
  const first = parsed.operands[0] as WordValue;
  ctx.shell({ kind: 'literal', value: texts.join(' '), pattern: '', glob: false, span: first.span });
};

/** `busybox APPLET args` is `APPLET args`. */
export const busybox: Model = (ctx, args) => {
  if (args.length === 0) return;
  ctx.run(args);
};
