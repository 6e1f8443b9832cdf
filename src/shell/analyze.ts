import { parse } from 'unbash';
import { MAX_COMMAND_LENGTH, MAX_NESTING_DEPTH, MAX_SIMPLE_COMMANDS, MAX_WRAPPER_DEPTH } from './limits.ts';
import { hostOf, isUrl, lit, type ModelContext, type PathFlags, type StdinKind } from './model.ts';
import { resolvePath, resolvePathPattern, type Cwd, WORKSPACE } from './paths.ts';
import { findModel } from './programs/index.ts';
import { scanControlCharacters } from './control.ts';
import { commandVariableProblem } from './command-variables.ts';
import type { CommandAnalysis, Effect, Hazard, HazardCode, ShellAnalysis, Span, WordValue } from './types.ts';
import { walkScript, type RawCommand, type RawItem, type RawRedirect } from './walker.ts';
import { escapeGlob } from './words.ts';

/** Builtins that split one line of input into variables; `IFS=` in front of them only affects that. */
const READS_LINES = new Set(['read', 'mapfile', 'readarray']);

/** System directories whose binaries are the same programs as their bare names. */
const SYSTEM_BIN = /^\/(?:usr\/)?(?:local\/)?s?bin\/([^/]+)$/;

/** `/bin/rm`, `\rm`, `'r'm` → `rm`; `./rm` stays a path. `null` for names built at run time. */
export function programIdentity(word: WordValue): string | null {
  if (word.kind !== 'literal' || word.glob || word.value === '') return null;
  const system = SYSTEM_BIN.exec(word.value);
  if (system) return system[1] ?? null;
  return word.value;
}

interface Frame {
  readonly depth: number;
  readonly prefix: string;
  /** Variables this script or a script around it may assign. */
  readonly assigned?: ReadonlySet<string>;
  /** This script or one around it may assign variables whose names the text does not show. */
  readonly assignsUnknown?: boolean;
}

/**
 * Variables the shell sets by itself (`$PWD` after `cd`, `$_`, `$REPLY`, positional parameters):
 * never the session's own values. HOME is tracked separately (a binding to `~`).
 */
const SHELL_SET =
  /^(?:\d+|[@*#?$!_-]|PWD|OLDPWD|REPLY|OPTARG|OPTIND|MAPFILE|COPROC\w*|BASH\w*|FUNCNAME|LINENO|RANDOM|SRANDOM|SECONDS|EPOCH\w*|PIPESTATUS|GROUPS|HISTCMD|DIRSTACK|SHLVL|COLUMNS|LINES|UID|EUID|PPID|HOSTNAME|HOSTTYPE|MACHTYPE|OSTYPE|IFS|COMP_\w+|READLINE_\w+|HOME)$/;

/** Analyses one command line. Pure: the same text always gives the same analysis. */
export interface AnalyzeOptions {
  /** Absolute path of the directory commands start in; paths under it count as the workspace. */
  readonly workspaceRoot?: string | undefined;
}

export function analyzeShell(source: string, options: AnalyzeOptions = {}): ShellAnalysis {
  return new Analysis(source, options.workspaceRoot).run();
}

class Analysis {
  readonly source: string;
  readonly commands: CommandAnalysis[] = [];
  readonly hazards: Hazard[] = [];
  cwd: Cwd = WORKSPACE;
  readonly workspaceRoot: string | undefined;

  constructor(source: string, workspaceRoot: string | undefined) {
    this.source = source;
    this.workspaceRoot = workspaceRoot;
  }

  run(): ShellAnalysis {
    this.hazards.push(...scanControlCharacters(this.source));
    if (this.source.length > MAX_COMMAND_LENGTH) {
      this.hazards.push({
        code: 'limit-exceeded',
        detail: `the command is ${this.source.length} characters long (limit ${MAX_COMMAND_LENGTH})`,
        span: { start: 0, end: this.source.length },
        floor: 'ask',
      });
      return { source: this.source, commands: [], hazards: this.hazards };
    }
    this.script(this.source, undefined, { depth: 0, prefix: '' });
    if (this.commands.length > MAX_SIMPLE_COMMANDS) {
      this.hazards.push({
        code: 'limit-exceeded',
        detail: `${this.commands.length} commands (limit ${MAX_SIMPLE_COMMANDS})`,
        span: { start: 0, end: this.source.length },
        floor: 'ask',
      });
    }
    return { source: this.source, commands: this.commands, hazards: this.hazards };
  }

  /** Parses and judges a script; `outer` maps every span of a nested script onto the word holding it. */
  script(text: string, outer: Span | undefined, frame: Frame): void {
    const ast = parse(text);
    const mapper = outer ? () => outer : undefined;
    const walked = walkScript(ast, text, mapper);
    this.hazards.push(...walked.hazards);
    const assigned = new Set([...(frame.assigned ?? []), ...walked.assignedNames]);
    const inner: Frame = {
      ...frame,
      assigned,
      assignsUnknown: (frame.assignsUnknown ?? false) || walked.assignsUnknownNames,
    };
    for (const item of walked.items) this.item(item, inner);
  }

  item(item: RawItem, frame: Frame): void {
    const effects: Effect[] = [];
    const nested: CommandAnalysis[] = [];
    const builder = new CommandBuilder(this, frame, item.span, effects, nested);
    let display: string;
    let program: string | null = null;
    if (item.kind === 'pseudo') {
      effects.push(...item.effects);
      builder.redirects(item.redirects);
      display = item.display;
    } else {
      effects.push(...item.effects);
      display = displayWords(item.words);
      program = builder.command(item);
    }
    this.commands.push({ display: frame.prefix + display, program, span: item.span, effects });
    this.commands.push(...nested);
  }
}

function shellQuote(value: string): string {
  if (value !== '' && /^[\w@%+=:,./~-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function displayWords(words: readonly WordValue[]): string {
  return words
    .map((w) => (w.kind === 'dynamic' ? w.text : w.glob ? w.pattern : shellQuote(w.value)))
    .join(' ');
}

class CommandBuilder {
  readonly analysis: Analysis;
  readonly frame: Frame;
  readonly span: Span;
  readonly effects: Effect[];
  readonly nested: CommandAnalysis[];

  constructor(analysis: Analysis, frame: Frame, span: Span, effects: Effect[], nested: CommandAnalysis[]) {
    this.analysis = analysis;
    this.frame = frame;
    this.span = span;
    this.effects = effects;
    this.nested = nested;
  }

  hazard(code: HazardCode, detail: string, floor: 'ask' | 'deny' = 'ask', sessionValue = false): void {
    const hazard = { code, detail, span: this.span, floor, ...(sessionValue ? { sessionValue } : {}) };
    this.effects.push({ kind: 'hazard', hazard, span: this.span });
  }

  /**
   * A run-time word whose every run-time part expands a variable this command never assigns: in a
   * fresh sandbox shell that value is the session's environment (set by whoever configured the
   * session), not something the command chose. The policy decides whether that counts.
   */
  sessionFixed(word: WordValue): boolean {
    if (word.kind !== 'dynamic' || word.variables === undefined || this.frame.assignsUnknown) return false;
    const assigned = this.frame.assigned;
    return word.variables.every((v) => !SHELL_SET.test(v) && !(assigned?.has(v) ?? false));
  }

  command(raw: RawCommand): string | null {
    const bare = raw.words.length === 0;
    const first = lit(raw.words[0]);
    for (const assignment of raw.assignments) {
      // `IFS= read -r line`: IFS set for `read` alone only changes how that line is split.
      if (assignment.name === 'IFS' && first !== null && READS_LINES.has(first)) continue;
      // Which names change how programs load code is the policy's to judge (loader variables, PATH…).
      this.effects.push({ kind: 'env-change', name: assignment.name, span: assignment.span });
      this.commandVariable(assignment.name, assignment.value);
    }
    const stdin = this.redirects(raw.redirects);
    if (bare) return null;
    const stdinKind: StdinKind = stdin.kind ?? raw.stdin;
    return this.run(raw.words, stdinKind, stdin.text, 0);
  }

  /**
   * `PAGER='sh -c …'`, `VISUAL=…`, `GIT_EDITOR=…`: a variable other programs run as a command. A plain
   * program name is fine; a command line in it is execution hidden behind another tool.
   */
  commandVariable(name: string, value: WordValue | null): void {
    const problem = commandVariableProblem(name, lit(value));
    if (problem !== null) this.hazard('escape-hatch', problem, 'deny');
  }

  /** Reports redirect effects and returns what stdin becomes. */
  redirects(redirects: readonly RawRedirect[]): { kind: StdinKind | null; text: string | null } {
    let kind: StdinKind | null = null;
    let text: string | null = null;
    for (const r of redirects) {
      const toStdin = r.fd === null || r.fd === 0;
      if (r.heredoc) {
        if (toStdin) {
          kind = 'redirect';
          text = r.heredoc.literal ? r.heredoc.text : null;
        }
        continue;
      }
      const target = r.target;
      if (!target) continue;
      if (r.operator === '<<<') {
        if (toStdin) {
          kind = 'redirect';
          text = lit(target);
        }
        continue;
      }
      if ((r.operator === '>&' || r.operator === '<&') && /^(\d+-?|-)$/.test(lit(target) ?? 'x')) continue;
      const isRead = r.operator === '<' || r.operator === '<>' || r.operator === '<&';
      const isWrite = r.operator !== '<' && r.operator !== '<&';
      if (isRead) {
        this.path('read', target);
        if (toStdin && r.operator === '<') kind = 'redirect';
      }
      if (isWrite) this.path('write', target);
    }
    return { kind, text };
  }

  path(kind: 'read' | 'write' | 'delete', word: WordValue, suffix = '', flags: PathFlags = {}): void {
    let ref = resolvePath(word, this.analysis.cwd, this.analysis.workspaceRoot);
    if (suffix === '**') {
      ref = { ...ref, recursive: true };
      if (flags.namesOnly) ref = { ...ref, namesOnly: true };
      if (flags.skipsHidden) ref = { ...ref, skipsHidden: true };
    } else if (suffix && ref.pattern !== null) {
      ref = { pattern: ref.pattern === '/' ? `/${suffix}` : `${ref.pattern}/${suffix}`, text: ref.text };
    }
    if ((ref.pattern === null || ref.pattern.startsWith('**')) && this.sessionFixed(word))
      ref = { ...ref, sessionValue: true };
    const net = ref.pattern !== null ? /^\/dev\/(tcp|udp)\/([^/]+)/.exec(ref.pattern) : null;
    if (net)
      this.effects.push({ kind: 'net', host: (net[2] ?? '').replace(/\\/g, '') || null, span: word.span });
    this.effects.push({ kind, path: ref, span: word.span });
  }

  /** Identity resolution, then a wrapper, a program model or the generic model. Returns the program. */
  run(
    words: readonly WordValue[],
    stdin: StdinKind,
    stdinText: string | null,
    wrapperDepth: number,
  ): string | null {
    const [name, ...args] = words;
    if (!name) return null;
    const program = programIdentity(name);
    if (program === null) {
      this.hazard(
        'dynamic-command-name',
        `the command name ${name.kind === 'literal' ? name.value : name.text} is only known at run time`,
      );
      this.genericArgs(args);
      return null;
    }
    if (wrapperDepth > MAX_WRAPPER_DEPTH) {
      this.hazard('limit-exceeded', `more than ${MAX_WRAPPER_DEPTH} nested wrappers`);
      return program;
    }
    let execArgv: readonly (string | null)[] = [program, ...args.map((a) => lit(a))];
    const model = findModel(program);
    const ctx: ModelContext = {
      program,
      span: this.span,
      stdin,
      stdinText,
      emit: (effect) => this.effects.push(effect),
      read: (word) => this.path('read', word),
      write: (word) => this.path('write', word),
      remove: (word) => this.path('delete', word),
      pathEffect: (kind, word, suffix, flags) => this.path(kind, word, suffix, flags),
      net: (host) => this.effects.push({ kind: 'net', host, span: this.span }),
      code: (lang, via, source) => this.effects.push({ kind: 'code', lang, via, source, span: this.span }),
      stateChange: (what) => this.effects.push({ kind: 'state-change', what, span: this.span }),
      envChange: (n) => this.effects.push({ kind: 'env-change', name: n, span: this.span }),
      envRead: (n) => this.effects.push({ kind: 'env-read', name: n, span: this.span }),
      hazard: (code, detail, floor, sessionValue) => this.hazard(code, detail, floor, sessionValue),
      sessionFixed: (word) => this.sessionFixed(word),
      shell: (word) => this.shell(word),
      run: (inner, innerStdin) => {
        this.run(inner, innerStdin ?? stdin, innerStdin ? null : stdinText, wrapperDepth + 1);
      },
      setExecArgv: (argv) => {
        execArgv = argv;
      },
      changeDirectory: (word) => {
        if (word === null) this.analysis.cwd = '~';
        else {
          const ref = resolvePath(word, this.analysis.cwd, this.analysis.workspaceRoot);
          this.analysis.cwd =
            ref.pattern !== null && !/[*?[]/.test(ref.pattern.replace(/\\./g, '')) ? ref.pattern : null;
        }
      },
      generic: (inner) => this.genericArgs(inner),
      resolve: (word) => resolvePath(word, this.analysis.cwd, this.analysis.workspaceRoot),
      unknownWord: (text) => ({ kind: 'dynamic', text, split: true, span: this.span }),
    };
    if (model?.kind === 'wrapper') {
      model.run(ctx, args);
      return program;
    }
    // `./rm -rf .git`: a workspace program named like a system tool is judged as that tool too.
    const lookalike =
      model === undefined && program.includes('/') ? findModel(program.split('/').at(-1) ?? '') : undefined;
    if (model) model.run(ctx, args);
    else if (lookalike?.kind === 'program') lookalike.run(ctx, args);
    else this.genericArgs(args);
    this.effects.push({ kind: 'exec', program, argv: execArgv, span: this.span });
    return program;
  }

  genericArgs(args: readonly WordValue[]): void {
    for (const arg of args) {
      if (arg.kind === 'dynamic') {
        // `-j$(nproc)`: an option whose value is only known at run time, not a path.
        if (!/^-[\w-]/.test(arg.text)) this.path('read', arg);
        continue;
      }
      let value = arg.value;
      if (value.startsWith('-')) {
        const eq = value.indexOf('=');
        if (eq < 0) continue;
        value = value.slice(eq + 1);
        if (!/^[~/.]/.test(value)) continue;
        this.effects.push({
          kind: 'read',
          path: resolvePathPattern(escapeGlob(value), value, this.analysis.cwd, this.analysis.workspaceRoot),
          span: arg.span,
        });
        continue;
      }
      if (isUrl(value)) {
        this.effects.push({ kind: 'net', host: hostOf(arg), span: arg.span });
        continue;
      }
      this.path('read', arg);
    }
  }

  /** `sh -c WORD`: a literal script is parsed and judged like the top level; anything else is unseen code. */
  shell(word: WordValue): void {
    if (word.kind !== 'literal') {
      this.hazard('unseen-code', `a shell runs ${word.text}, which is only known at run time`);
      this.effects.push({ kind: 'code', lang: 'shell', via: 'unknown', source: null, span: word.span });
      return;
    }
    if (this.frame.depth + 1 > MAX_NESTING_DEPTH) {
      this.hazard('limit-exceeded', `shell scripts nested more than ${MAX_NESTING_DEPTH} deep`);
      return;
    }
    const before = this.analysis.commands.length;
    const savedCwd = this.analysis.cwd;
    // A child shell inherits what this one may have assigned (exported or not: judged alike).
    this.analysis.script(word.value, word.span, {
      depth: this.frame.depth + 1,
      prefix: `${this.frame.prefix}(inside a nested shell) `,
      ...(this.frame.assigned ? { assigned: this.frame.assigned } : {}),
      ...(this.frame.assignsUnknown ? { assignsUnknown: true } : {}),
    });
    this.analysis.cwd = savedCwd;
    // Keep nested commands after the command that runs them, in execution order.
    this.nested.push(...this.analysis.commands.splice(before));
  }
}

/*
 * Security limitations
 * - The analysis judges the text, not the machine: a workspace file named like a system program, a
 *   poisoned config file read by an allowed tool (package.json scripts, conftest.py) or a symlink
 *   created earlier is only caught through the rules on writes to those files, not here.
 * - Programs without a model are judged by their argv and by treating every operand as a possible
 *   path read; an unmodelled option of such a program that runs code is not seen (the policy's
 *   default decides whether unknown programs run at all).
 * - `cd` is followed in source order; a directory only known at run time makes later relative paths
 *   unknown, which keeps them from being allowed by path rules.
 */
