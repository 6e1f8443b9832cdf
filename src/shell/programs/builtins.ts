import { commandVariableProblem } from '../command-variables.ts';
import { lit, type Model, type ModelContext } from '../model.ts';
import { ALL_VARIABLES } from '../types.ts';
import type { WordValue } from '../types.ts';

/** Programs whose arguments are never paths or code: only their output matters. */
export const pure: Model = () => {};

function assignedNames(ctx: ModelContext, words: readonly WordValue[], builtin: string): void {
  for (const word of words) {
    const text = lit(word);
    if (text === null) {
      // `export X="$(pwd)/bin"`: the name is literal even when the value is not.
      const named = word.kind === 'dynamic' ? /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(word.text)?.[1] : undefined;
      if (named === undefined) {
        ctx.hazard('assignment-prefix', `${builtin} with a run-time argument may set any variable`);
        continue;
      }
      ctx.envChange(named);
      const problem = commandVariableProblem(named, null);
      if (problem !== null) ctx.hazard('escape-hatch', problem, 'deny');
      continue;
    }
    if (text.startsWith('-') || text.startsWith('+')) continue;
    const name = /^([A-Za-z_][A-Za-z0-9_]*)/.exec(text)?.[1];
    if (!name) continue;
    // Which names matter (loader variables, PATH, IFS…) is the policy's to judge from the change.
    ctx.envChange(name);
    const eq = text.indexOf('=');
    const problem = eq < 0 ? null : commandVariableProblem(name, text.slice(eq + 1));
    if (problem !== null) ctx.hazard('escape-hatch', problem, 'deny');
  }
}

function optionWords(words: readonly WordValue[]): string[] {
  return words.map(lit).filter((t): t is string => t !== null && /^[-+]/.test(t));
}

export const cd: Model = (ctx, args) => {
  const operands = args.filter((a) => !/^-[LPe@]+$/.test(lit(a) ?? ''));
  const target = operands[0];
  if (!target) ctx.changeDirectory(null);
  else if (lit(target) === '-') ctx.changeDirectory(ctx.unknownWord('-'));
  else ctx.changeDirectory(target);
};

export const popd: Model = (ctx) => ctx.changeDirectory(ctx.unknownWord('popd'));

export const exportBuiltin: Model = (ctx, args) => {
  const opts = optionWords(args).join('');
  const operands = args.filter((a) => !/^[-+]/.test(lit(a) ?? 'x'));
  if (operands.length === 0 || opts.includes('p')) {
    ctx.envRead(ALL_VARIABLES);
    return;
  }
  ctx.stateChange(ctx.program);
  if (opts.includes('f') || opts.includes('n'))
    ctx.hazard('assignment-prefix', `${ctx.program} ${opts} changes functions or references`);
  assignedNames(ctx, operands, ctx.program);
};

/** declare, typeset, local, readonly. */
export const declare: Model = (ctx, args) => {
  const opts = optionWords(args).join('');
  const operands = args.filter((a) => !/^[-+]/.test(lit(a) ?? 'x'));
  if (operands.length === 0) {
    if (!/[fF]/.test(opts)) ctx.envRead(ALL_VARIABLES);
    return;
  }
  if (opts.includes('p')) {
    for (const operand of operands) ctx.envRead(lit(operand) ?? ALL_VARIABLES);
    return;
  }
  ctx.stateChange(ctx.program);
  if (opts.includes('n')) ctx.hazard('assignment-prefix', `${ctx.program} -n makes a name reference`);
  assignedNames(ctx, operands, ctx.program);
};

export const unset: Model = (ctx, args) => {
  ctx.stateChange('unset');
  assignedNames(ctx, args, 'unset');
};

export const alias: Model = (ctx, args) => {
  if (args.length === 0 || args.every((a) => lit(a) === '-p')) return;
  ctx.stateChange(ctx.program);
};

export const set: Model = (ctx, args) => {
  if (args.length === 0) {
    ctx.envRead(ALL_VARIABLES);
    return;
  }
  // Shell options (-e, -u, -x, -o pipefail) change error handling and tracing, not what runs.
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === null) {
      ctx.hazard('assignment-prefix', 'set with a run-time argument');
      return;
    }
    if (text === '--' || text === '-') return;
    if (!/^[-+][a-zA-Z]+$/.test(text)) return;
    if (/o$/.test(text)) {
      const name = lit(args[i + 1]);
      if (name === null) {
        if (args[i + 1]) ctx.hazard('assignment-prefix', 'set -o with a run-time option');
        else ctx.envRead(ALL_VARIABLES);
        return;
      }
      if (
        !/^(pipefail|errexit|nounset|xtrace|noclobber|noglob|errtrace|verbose|posix|allexport|notify|monitor)$/.test(
          name,
        )
      ) {
        ctx.stateChange(`set -o ${name}`);
      }
      i++;
    }
  }
};

export const shopt: Model = (ctx, args) => {
  const opts = optionWords(args).join('');
  if (/[su]/.test(opts)) ctx.stateChange('shopt');
};

export const trap: Model = (ctx, args) => {
  const operands = args.filter((a) => !/^-[lp]$/.test(lit(a) ?? ''));
  if (operands.length < 2) return;
  ctx.stateChange('trap');
  const handler = operands[0] as WordValue;
  if (lit(handler) !== '-' && lit(handler) !== '') ctx.shell(handler);
};

export const hash: Model = (ctx, args) => {
  if (args.every((a) => /^-[rlt]+$/.test(lit(a) ?? 'x')) || args.length === 0) return;
  ctx.stateChange('hash');
};

export const stateOnly =
  (what: string): Model =>
  (ctx) =>
    ctx.stateChange(what);

export const evalBuiltin: Model = (ctx, args) => {
  const texts = args.map(lit);
  if (args.length === 0) return;
  if (texts.some((t) => t === null)) {
    ctx.code('shell', 'unknown', null);
    ctx.hazard('unseen-code', 'eval runs text that is only known at run time');
    return;
  }
  const first = args[0] as WordValue;
  ctx.shell({ kind: 'literal', value: texts.join(' '), pattern: '', glob: false, span: first.span });
};

export const source: Model = (ctx, args) => {
  const file = args[0];
  ctx.stateChange('source');
  if (file) ctx.read(file);
  if (file && lit(file) !== null && lit(file) !== '/dev/fd/63') {
    // A file in the sandbox (`source venv/bin/activate`): the project's own code, run contained.
    ctx.code('shell', 'file', null);
    return;
  }
  ctx.code('shell', 'unknown', null);
  ctx.hazard(
    'unseen-code',
    `${ctx.program} runs text from a substitution or a run-time path; the policy cannot see it`,
  );
};

/** read, mapfile, readarray, getopts: they assign the variables they name. */
export const reader: Model = (ctx, args) => {
  const names: WordValue[] = [];
  for (let i = 0; i < args.length; i++) {
    const text = lit(args[i]);
    if (text === '-C' || (text !== null && /^-C./.test(text))) {
      // mapfile -C CALLBACK evaluates shell code every -c lines: eval behind a builtin.
      ctx.hazard('escape-hatch', `${ctx.program} -C runs a callback as shell code`, 'deny');
      if (text === '-C') i++;
      continue;
    }
    if (text === '-c' || text === '-O' || text === '-s') {
      i++;
      continue;
    }
    if (text !== null && /^-[adinNptu]$/.test(text)) {
      if (
        text === '-a' ||
        text === '-u' ||
        text === '-d' ||
        text === '-n' ||
        text === '-N' ||
        text === '-p' ||
        text === '-t'
      ) {
        if (text === '-a') names.push(args[i + 1] as WordValue);
        i++;
      }
      continue;
    }
    if (text !== null && text.startsWith('-')) continue;
    names.push(args[i] as WordValue);
  }
  assignedNames(ctx, names.filter(Boolean), ctx.program);
};

export const printf: Model = (ctx, args) => {
  const first = lit(args[0]);
  if (first === '-v') assignedNames(ctx, args.slice(1, 2), 'printf -v');
};

export const printenv: Model = (ctx, args) => {
  const names = args.filter((a) => !(lit(a) ?? '').startsWith('-'));
  if (names.length === 0) ctx.envRead(ALL_VARIABLES);
  for (const name of names) ctx.envRead(lit(name) ?? ALL_VARIABLES);
};

export const letBuiltin: Model = (ctx) => {
  ctx.hazard('arithmetic-indirection', 'let evaluates its arguments as arithmetic on variable values');
};

export const fc: Model = (ctx) => {
  ctx.hazard('unseen-code', 'fc re-runs commands from history');
};
