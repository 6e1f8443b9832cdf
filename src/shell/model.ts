import type { Grammar, ParsedArgs } from './getopt.ts';
import { parseArgs } from './getopt.ts';
import type { CodeVia, Effect, HazardCode, PathRef, Span, WordValue } from './types.ts';

export type StdinKind = 'terminal' | 'pipe' | 'redirect';

/** How a recursive effect treats what is below its directory. */
export interface PathFlags {
  /** Only names are listed (find), no contents read. */
  readonly namesOnly?: boolean;
  /** Hidden files and directories are skipped (ripgrep's default). */
  readonly skipsHidden?: boolean;
}

/** What a program model may do: report effects of the words it was given. */
export interface ModelContext {
  readonly program: string;
  readonly span: Span;
  readonly stdin: StdinKind;
  /** Literal text fed on stdin (quoted heredoc, here-string), when known. */
  readonly stdinText: string | null;
  emit(effect: Effect): void;
  read(word: WordValue): void;
  write(word: WordValue): void;
  remove(word: WordValue): void;
  /** A path pattern built by the model (e.g. `dir/**` for a recursive delete). */
  pathEffect(kind: 'read' | 'write' | 'delete', word: WordValue, suffix?: string, flags?: PathFlags): void;
  net(host: string | null): void;
  code(lang: string, via: CodeVia, source: string | null): void;
  stateChange(what: string): void;
  envChange(name: string): void;
  envRead(name: string): void;
  /** `sessionValue`: raised only by values the session's environment fixes (see `sessionFixed`). */
  hazard(code: HazardCode, detail: string, floor?: 'ask' | 'deny', sessionValue?: boolean): void;
  /** A run-time word whose value is the session's own (variables the command never assigns). */
  sessionFixed(word: WordValue): boolean;
  /** Runs a shell command line (`sh -c WORD`): parsed and judged with the same policy. */
  shell(word: WordValue): void;
  /** Runs an argv directly (wrappers, `find -exec`, `xargs`): judged as a simple command. */
  run(words: readonly WordValue[], stdin?: StdinKind): void;
  /** Replaces the argv the policy's command rules see (e.g. `git` without its global options). */
  setExecArgv(argv: readonly (string | null)[]): void;
  changeDirectory(word: WordValue | null): void;
  /** Generic treatment: every operand may be a path that is read; URLs are network access. */
  generic(words: readonly WordValue[]): void;
  /** Where a path word points, resolved against the current directory. */
  resolve(word: WordValue): PathRef;
  /** A made-up unknown word (what `xargs` appends, what `{}` stands for). */
  unknownWord(text: string): WordValue;
}

export type Model = (ctx: ModelContext, args: readonly WordValue[]) => void;

export function lit(word: WordValue | null | undefined): string | null {
  return word?.kind === 'literal' ? word.value : null;
}

/** Parses options and reports the effects the grammar attaches to them. */
export function options(ctx: ModelContext, args: readonly WordValue[], grammar: Grammar): ParsedArgs {
  const parsed = parseArgs(args, grammar);
  for (const option of parsed.options) {
    const effect = option.def?.effect ?? 'none';
    const value = option.value;
    switch (effect) {
      case 'none':
        break;
      case 'read':
      case 'write':
      case 'delete':
        if (value) ctx.pathEffect(effect, value);
        else if (option.def?.arg !== 'none') ctx.hazard('opaque-option', `${option.name} without its value`);
        break;
      case 'shell':
        if (value) ctx.shell(value);
        else ctx.hazard('unseen-code', `${option.name} runs a command`);
        break;
      case 'program':
        // The value is a program the tool runs (a compressor, a pager, a remote shell): fine when it
        // is one of those, an escape hatch when it is anything else.
        programOption(ctx, value, OPTION_PROGRAMS, `${ctx.program} ${option.name}`);
        break;
      case 'opaque':
        ctx.hazard('opaque-option', `${ctx.program} ${option.name} is not modelled`);
        break;
      case 'net':
        ctx.net(value ? hostOf(value) : null);
        break;
      default: {
        const never: never = effect;
        throw new Error(`unhandled option effect ${String(never)}`);
      }
    }
  }
  if (grammar.unknown === 'opaque') {
    for (const option of parsed.unknown) {
      ctx.hazard('opaque-option', `${ctx.program}: unknown option ${option.name}`);
    }
  }
  // A quoted word that starts with literal text other than `-` is one operand, never an option.
  const injected = parsed.injected.filter((w) => !cannotBeOption(w));
  if (
    injected.length > 0 &&
    grammar.options.some((o) => o.effect !== undefined && o.effect !== 'none' && o.effect !== 'read')
  ) {
    ctx.hazard(
      'argument-injection',
      `a run-time value may add options to ${ctx.program}, some of which run or write things`,
      'ask',
      injected.every((w) => ctx.sessionFixed(w)),
    );
  }
  return parsed;
}

function cannotBeOption(word: WordValue): boolean {
  if (word.kind !== 'dynamic' || word.split) return false;
  const first = word.pattern?.[0];
  return first !== undefined && first !== '*' && first !== '-' && !word.pattern?.startsWith('\\-');
}

/** The host of a URL-ish word (`https://h/p`, `git@h:p`, `h:path`, `h`), `null` when unknown. */
export function hostOf(word: WordValue): string | null {
  const text = lit(word);
  if (text === null) return null;
  const url = /^[a-zA-Z][\w+.-]*:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^/:?#]*)/.exec(text);
  if (url) return (url[1] ?? '').toLowerCase() || null;
  const scp = /^(?:[^@/:]+@)?([^/:]+):/.exec(text);
  if (scp) return (scp[1] ?? '').toLowerCase();
  return text.toLowerCase();
}

export function isUrl(text: string): boolean {
  return /^[a-zA-Z][\w+.-]*:\/\//.test(text);
}

/** Programs that program-valued options are for: compressors, pagers, remote shells. */
const OPTION_PROGRAMS: ReadonlySet<string> = new Set([
  'gzip',
  'pigz',
  'bzip2',
  'xz',
  'zstd',
  'lz4',
  'lzip',
  'lzop',
  'brotli',
  'compress',
  'cat',
  'less',
  'more',
  'ssh',
  'rsh',
  'strip',
  'llvm-strip',
]);

/**
 * A program-valued option (`tar -I`, `rsync -e`, `sort --compress-program`): fine when it names one
 * of the programs the option is for (a compressor, ssh, a pager, with their own options), an escape
 * hatch when it is a command line or another program.
 */
export function programOption(
  ctx: ModelContext,
  value: WordValue | null | undefined,
  expected: ReadonlySet<string>,
  what: string,
): void {
  const text = lit(value);
  const words = text === null ? [] : text.trim().split(/\s+/);
  const program = words[0]?.split('/').at(-1) ?? '';
  if (text !== null && expected.has(program) && !/[;&|`$<>(){}]/.test(text)) return;
  ctx.hazard(
    'escape-hatch',
    `${what} runs ${text === null ? 'a program only known at run time' : JSON.stringify(text)}`,
    'deny',
  );
}
