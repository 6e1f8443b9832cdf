import type {
  ArithmeticExpression,
  AndOr,
  CommandNode,
  CompoundList,
  ParsedScript,
  PipelineNode,
  Redirection,
  Statement,
  TestExpression,
  Word,
} from 'unbash';
import { assertNever } from './assert-never.ts';
import { MAX_LOOP_WORDS, MAX_UNROLLED_COMMANDS } from './limits.ts';
import { findModel } from './programs/index.ts';
import type { Effect, Hazard, Span, WordValue } from './types.ts';
import { resolveWord, type LiteralWord, type ShapedWord, type WordContext } from './words.ts';

type Bindings = ReadonlyMap<string, LiteralWord | ShapedWord>;

export type StdinSource = 'terminal' | 'pipe';

export interface RawRedirect {
  readonly operator: string;
  readonly fd: number | null;
  /** The redirect target word (file, fd number or here-string text), `null` for heredocs. */
  readonly target: WordValue | null;
  /** Heredoc body text when the delimiter is quoted (so the body is literal), else `null`. */
  readonly heredoc: { readonly text: string; readonly literal: boolean } | null;
  readonly span: Span;
}

export interface RawAssignment {
  readonly name: string;
  /** `null` for array values (`x=(a b)`) and anything not a single word. */
  readonly value: WordValue | null;
  readonly span: Span;
}

/** A simple command as the walker found it, before identity resolution and unwrapping. */
export interface RawCommand {
  readonly kind: 'command';
  readonly words: readonly WordValue[];
  readonly assignments: readonly RawAssignment[];
  readonly redirects: readonly RawRedirect[];
  readonly stdin: StdinSource;
  /** Effects of the words themselves, such as reading `$GITHUB_TOKEN`. */
  readonly effects: readonly Effect[];
  readonly span: Span;
}

/** Something that is not a simple command but still has effects: a function definition, a redirected group. */
export interface RawPseudo {
  readonly kind: 'pseudo';
  readonly display: string;
  readonly effects: readonly Effect[];
  readonly redirects: readonly RawRedirect[];
  readonly span: Span;
}

export type RawItem = RawCommand | RawPseudo;

export interface WalkResult {
  readonly items: readonly RawItem[];
  readonly hazards: readonly Hazard[];
  /** Every variable name the script may assign (assignments, loops, read, declare, arithmetic …). */
  readonly assignedNames: ReadonlySet<string>;
  /** The script may assign variables whose names the text does not show (eval, source, `read "$v"`). */
  readonly assignsUnknownNames: boolean;
}

type SpanMapper = (pos: number, end: number) => Span;

interface WalkState {
  readonly items: RawItem[];
  readonly hazards: Hazard[];
  /** Effects of words seen since the last item; the next item takes them. */
  pending: Effect[];
  /** False when the script assigns variables in ways we do not track; loop bindings are then ignored. */
  readonly bindingsTrusted: boolean;
  readonly assignedNames: Set<string>;
  readonly boundNames: Set<string>;
  /** Loop variables (`for x in …`): assigned, but by the loop whose values the walker follows. */
  readonly loopNames: Set<string>;
  assignsUnknownNames: boolean;
  /** Functions the script defines: where, and which command names their bodies run. */
  readonly functions: DefinedFunction[];
  /** Names assigned an integer literal or one `$((…))` by a plain assignment (`n=0`, `n=$((n+1))`). */
  readonly numericAssigned: Set<string>;
  /** Names assigned anything else, by any route (`n=$x`, `n=(…)`, `${n:=…}`, builtins). */
  readonly otherAssigned: Set<string>;
  /** Plain variable names used in arithmetic, judged once the whole script is seen. */
  readonly arithmeticNames: { readonly name: string; readonly span: Span }[];
  /** The argument words of each call of a function the script defined earlier, by name. */
  readonly calls: Map<string, (readonly WordValue[])[]>;
  /** Functions whose body is walked once per call with $1… bound to that call's words. */
  readonly positional: PositionalPlan;
}

/** Function name → the literal arguments of each of its calls. */
type PositionalPlan = ReadonlyMap<string, readonly (readonly LiteralWord[])[]>;

interface DefinedFunction {
  readonly name: string;
  readonly span: Span;
  readonly calls: ReadonlySet<string>;
}

/**
 * Bindings are only trusted when nothing in the text can reassign a variable behind our back. This
 * looks at raw text, but only to switch a refinement off, never to allow anything.
 */
function bindingsTrustedFor(source: string): boolean {
  return !/\b(read|mapfile|readarray|getopts|printf|declare|typeset|local|export|let|unset|eval|source|alias)\b|\$\{[^}]*=|(^|[\s;&|(])\.\s/.test(
    source,
  );
}

/**
 * `f() { git diff --diff-filter=$1; }; f ACR; f D`: when every call of a function passes literal
 * words, its body can be walked once per call with `$1`… bound to them. Only when the text shows
 * nothing else that could run it or change its parameters: the name occurs exactly once per
 * recorded call plus its definition (no `command f`, `trap f`, string or comment naming it), and no
 * `shift`, `set` or other assignment the walker does not follow. Missing parameters stay unknown.
 */
function positionalPlan(state: WalkState, source: string): PositionalPlan {
  const plan = new Map<string, readonly (readonly LiteralWord[])[]>();
  if (!state.bindingsTrusted || state.assignsUnknownNames || /\b(shift|set)\b/.test(source)) return plan;
  for (const [name, calls] of state.calls) {
    if (!/^[A-Za-z_]\w*$/.test(name) || calls.length > MAX_LOOP_WORDS) continue;
    const literal = calls.filter((args) => args.every((a): a is LiteralWord => a.kind === 'literal'));
    if (literal.length !== calls.length) continue;
    const occurrences = source.match(new RegExp(`(?<![\\w.-])${name}(?![\\w.-])`, 'g'))?.length ?? 0;
    if (occurrences !== calls.length + 1) continue;
    plan.set(name, literal as (readonly LiteralWord[])[]);
  }
  return plan;
}

/** Walks every node of a parsed script, collecting simple commands (in execution order) and hazards. */
export function walkScript(script: ParsedScript, source: string, span?: SpanMapper): WalkResult {
  const mapper: SpanMapper = span ?? ((pos, end) => ({ start: pos, end }));
  const trusted = bindingsTrustedFor(source);
  let first = walkOnce(script, mapper, trusted, homeTrustedFor(source));
  const plan = positionalPlan(first, source);
  if (plan.size > 0) first = walkOnce(script, mapper, trusted, homeTrustedFor(source), plan);
  if ([...first.boundNames].some((name) => first.assignedNames.has(name))) {
    // A loop variable is also assigned somewhere: forget every binding and walk again.
    const second = walkOnce(script, mapper, false, false);
    return {
      items: second.items,
      hazards: second.hazards,
      assignedNames: new Set([...second.assignedNames, ...second.loopNames]),
      assignsUnknownNames: second.assignsUnknownNames,
    };
  }
  return {
    items: first.items,
    hazards: first.hazards,
    assignedNames: new Set([...first.assignedNames, ...first.loopNames]),
    assignsUnknownNames: first.assignsUnknownNames,
  };
}

/** `$HOME` is the home directory (`~`) unless the script could change it. */
function homeTrustedFor(source: string): boolean {
  return !/HOME\W*=|\b(read|export|declare|typeset|local|unset|getopts|printf|mapfile|readarray|eval|source)\b[^;&|\n]*HOME|(^|[\s;&|(])\.\s/.test(
    source,
  );
}

const HOME: LiteralWord = {
  kind: 'literal',
  value: '~',
  pattern: '~',
  glob: false,
  span: { start: 0, end: 0 },
};

function walkOnce(
  script: ParsedScript,
  mapper: SpanMapper,
  bindingsTrusted: boolean,
  homeTrusted: boolean,
  positional: PositionalPlan = new Map(),
): WalkState {
  const state: WalkState = {
    items: [],
    hazards: [],
    pending: [],
    bindingsTrusted,
    assignedNames: new Set(),
    boundNames: new Set(),
    loopNames: new Set(),
    assignsUnknownNames: false,
    functions: [],
    numericAssigned: new Set(),
    otherAssigned: new Set(),
    arithmeticNames: [],
    calls: new Map(),
    positional,
  };
  const initial = new Map<string, LiteralWord | ShapedWord>();
  if (homeTrusted) {
    initial.set('HOME', HOME);
    state.boundNames.add('HOME');
  }
  new Walker(state).script(script, mapper, initial);
  judgeArithmeticNames(state);
  judgeFunctions(state);
  if (state.pending.length > 0) {
    const s = state.pending[0]?.span ?? { start: 0, end: 0 };
    state.items.push({
      kind: 'pseudo',
      display: 'expansion',
      effects: state.pending,
      redirects: [],
      span: s,
    });
  }
  return state;
}

/**
 * Arithmetic evaluates a variable's value as an expression (`a[$(cmd)]` in it runs cmd), so a
 * variable in arithmetic is a hazard unless its value can only be an integer: the script assigns
 * it, and only ever an integer literal or one `$((…))` (plain or in arithmetic, `(( n++ ))`), and
 * nothing in the text could assign it otherwise (no `read`, `declare`, `eval`, loop over it…).
 * Before its first assignment the value is the session's own: the caller's variables reach the
 * policy as `export` lines, which switch this refinement off.
 */
function judgeArithmeticNames(state: WalkState): void {
  for (const { name, span } of state.arithmeticNames) {
    const counter =
      state.bindingsTrusted &&
      !state.assignsUnknownNames &&
      state.numericAssigned.has(name) &&
      !state.otherAssigned.has(name) &&
      !state.loopNames.has(name);
    if (!counter) indirectionHazard(state, span);
  }
}

function indirectionHazard(state: WalkState, span: Span): void {
  state.hazards.push({
    code: 'arithmetic-indirection',
    detail: 'arithmetic on a variable whose value is not known evaluates that value as code',
    span,
    floor: 'ask',
  });
}

/** `0`, `-12`, `$((n + 1))`: a value that can only be an integer. */
function integerValue(value: Word): boolean {
  const parts = value.parts;
  if (parts === undefined) return /^-?\d+$/.test(value.value);
  return parts.length === 1 && parts[0]?.type === 'ArithmeticExpansion';
}

/**
 * Each command runs in a fresh shell, so a function lives only for the command that defines it, and
 * its body is judged where it is defined. Two shapes are still refused as changing shell state:
 * - a function named like a program or builtin the policy knows (`git() { …; }; git status`): the
 *   text then says one program and another runs, which misleads whoever reads it;
 * - a function that a function of the script calls (itself or another: `:(){ :|:& };:`): a recursion
 *   whose work the policy cannot bound, the shape of a fork bomb.
 */
function judgeFunctions(state: WalkState): void {
  const calledFromFunctions = new Set(state.functions.flatMap((defined) => [...defined.calls]));
  for (const defined of state.functions) {
    if (findModel(defined.name) === undefined && !calledFromFunctions.has(defined.name)) continue;
    state.items.push({
      kind: 'pseudo',
      display: `function ${defined.name}`,
      effects: [{ kind: 'state-change', what: `function ${defined.name}`, span: defined.span }],
      redirects: [],
      span: defined.span,
    });
  }
}

class Walker {
  readonly state: WalkState;

  constructor(state: WalkState) {
    this.state = state;
  }

  script(script: ParsedScript, span: SpanMapper, bindings: Bindings): void {
    for (const error of script.errors ?? []) {
      this.state.hazards.push({
        code: 'parse-error',
        detail: error.message,
        span: span(error.pos, error.pos + 1),
        floor: 'ask',
      });
    }
    for (const statement of script.commands) this.statement(statement, span, bindings);
  }

  statement(statement: Statement, span: SpanMapper, bindings: Bindings): void {
    this.andOr(statement.command, span, bindings, 'terminal');
  }

  andOr(node: PipelineNode | AndOr, span: SpanMapper, bindings: Bindings, stdin: StdinSource): void {
    if (node.type === 'AndOr') {
      for (const command of node.commands) this.pipeline(command, span, bindings, stdin);
      return;
    }
    this.pipeline(node, span, bindings, stdin);
  }

  pipeline(node: PipelineNode, span: SpanMapper, bindings: Bindings, stdin: StdinSource): void {
    if (node.type === 'Pipeline') {
      node.commands.forEach((command, index) => {
        this.command(command, span, bindings, index === 0 ? stdin : 'pipe');
      });
      return;
    }
    this.command(node, span, bindings, stdin);
  }

  list(list: CompoundList, span: SpanMapper, bindings: Bindings): void {
    for (const statement of list.commands) this.statement(statement, span, bindings);
  }

  command(node: CommandNode, span: SpanMapper, bindings: Bindings, stdin: StdinSource): void {
    switch (node.type) {
      case 'Command': {
        const ctx = this.wordContext(span, bindings);
        const assignments: RawAssignment[] = node.prefix.flatMap((p) =>
          p.type === 'Assignment' ? [this.assignment(p, ctx)] : [],
        );
        const words: WordValue[] = [];
        if (node.name) {
          const names = resolveWord(node.name, ctx);
          if (names.length > 1 || node.name.parts?.some((p) => p.type === 'BraceExpansion')) {
            // The expansion is followed (its words are judged), but a name built this way is never allow.
            ctx.hazard({
              code: 'dynamic-command-name',
              detail: `the command name ${node.name.text} is built by an expansion`,
              span: ctx.span(node.name.pos, node.name.end),
              floor: 'ask',
            });
          }
          words.push(...names);
        }
        for (const arg of node.suffix) {
          if (arg.type === 'Word') words.push(...resolveWord(arg, ctx));
          else if (arg.type === 'Assignment') {
            // `declare x=1`, `export A=b`: the builtin sees the whole text as one argument.
            const assigned = this.assignment(arg, ctx);
            words.push(
              assigned.value?.kind === 'literal'
                ? {
                    ...assigned.value,
                    value: `${arg.name}=${assigned.value.value}`,
                    span: span(arg.pos, arg.end),
                  }
                : { kind: 'dynamic', text: arg.text, split: false, span: span(arg.pos, arg.end) },
            );
          }
        }
        this.noteAssigningBuiltin(words);
        const called = words[0];
        if (called?.kind === 'literal' && this.state.functions.some((f) => f.name === called.value)) {
          const calls = this.state.calls.get(called.value) ?? [];
          calls.push(words.slice(1));
          this.state.calls.set(called.value, calls);
        }
        const redirects = node.redirects.map((r) => this.redirect(r, ctx));
        this.state.items.push({
          kind: 'command',
          words,
          assignments,
          redirects,
          stdin,
          effects: this.takePending(),
          span: span(node.pos, node.end),
        });
        return;
      }
      case 'If':
        this.list(node.clause, span, bindings);
        this.list(node.then, span, bindings);
        for (const elif of node.elif) {
          this.list(elif.clause, span, bindings);
          this.list(elif.then, span, bindings);
        }
        if (node.else) this.list(node.else, span, bindings);
        return;
      case 'For':
      case 'Select': {
        const ctx = this.wordContext(span, bindings);
        const values = (node.wordlist ?? []).flatMap((w) => resolveWord(w, ctx));
        let bodyBindings = bindings;
        const only = values[0];
        const name = node.name.value;
        this.state.loopNames.add(name);
        if (this.state.bindingsTrusted && values.length === 1 && only?.kind === 'literal') {
          bodyBindings = new Map(bindings).set(name, only);
          this.state.boundNames.add(name);
        } else if (
          this.state.bindingsTrusted &&
          values.length === 1 &&
          only?.kind === 'dynamic' &&
          only.shape
        ) {
          // `for f in $(find ROOT -name NAME)`: each value of f is one path of that listing.
          bodyBindings = new Map(bindings).set(name, { ...only, shape: only.shape });
          this.state.boundNames.add(name);
        } else if (this.state.bindingsTrusted && this.unrolled(node.body, span, bindings, name, values)) {
          return;
        }
        this.list(node.body, span, bodyBindings);
        return;
      }
      case 'ArithmeticFor':
        this.arithmetic(node.initialize, span, bindings);
        this.arithmetic(node.test, span, bindings);
        this.arithmetic(node.update, span, bindings);
        this.list(node.body, span, bindings);
        return;
      case 'While':
        this.list(node.clause, span, bindings);
        this.list(node.body, span, bindings);
        return;
      case 'Subshell':
      case 'BraceGroup':
        this.list(node.body, span, bindings);
        return;
      case 'Case': {
        const ctx = this.wordContext(span, bindings);
        resolveWord(node.word, ctx);
        for (const item of node.items) {
          for (const pattern of item.pattern) resolveWord(pattern, ctx);
          this.list(item.body, span, bindings);
        }
        return;
      }
      case 'TestCommand':
        this.test(node.expression, span, bindings);
        return;
      case 'ArithmeticCommand':
        this.arithmetic(node.expression, span, bindings);
        return;
      case 'Redirected': {
        this.command(node.command, span, bindings, stdin);
        const ctx = this.wordContext(span, bindings);
        const redirects = node.redirects.map((r) => this.redirect(r, ctx));
        this.state.items.push({
          kind: 'pseudo',
          display: 'redirection of a compound command',
          effects: this.takePending(),
          redirects,
          span: span(node.pos, node.end),
        });
        return;
      }
      case 'Function': {
        const first = this.state.items.length;
        const body = node.body;
        // The body is judged where it is defined, as if it ran there: a call of the function runs
        // nothing the policy has not judged (see judgeFunctions for what is still refused).
        const walkBody = (b: Bindings): void => {
          if (body.type === 'CompoundList') this.list(body, span, b);
          else this.command(body, span, b, 'terminal');
        };
        const calls = this.state.positional.get(node.name.value) ?? [];
        const variants = calls.map((args) => {
          const bound = new Map(bindings);
          args.slice(0, 9).forEach((word, i) => bound.set(String(i + 1), word));
          return bound;
        });
        if (variants.length === 0 || !this.walkVariants(walkBody, variants)) walkBody(bindings);
        const runs = new Set<string>();
        for (const item of this.state.items.slice(first)) {
          const word = item.kind === 'command' ? item.words[0] : undefined;
          if (word?.kind === 'literal') runs.add(word.value);
        }
        this.state.functions.push({ name: node.name.value, span: span(node.pos, node.end), calls: runs });
        return;
      }
      case 'Coproc': {
        const s = span(node.pos, node.end);
        this.state.items.push({
          kind: 'pseudo',
          display: 'coproc',
          effects: [{ kind: 'state-change', what: 'coproc', span: s }],
          redirects: [],
          span: s,
        });
        const body = node.body;
        if (body.type === 'CompoundList') this.list(body, span, bindings);
        else this.command(body, span, bindings, 'terminal');
        return;
      }
      default:
        assertNever(node);
    }
  }

  assignment(
    node: {
      name: string;
      value: Word | { type: 'ArrayValue'; elements: readonly Word[] };
      index: Word | undefined;
      pos: number;
      end: number;
    },
    ctx: WordContext,
  ): RawAssignment {
    if (node.index) resolveWord(node.index, ctx);
    this.state.assignedNames.add(node.name);
    if (node.value.type !== 'ArrayValue' && integerValue(node.value))
      this.state.numericAssigned.add(node.name);
    else this.state.otherAssigned.add(node.name);
    const s = ctx.span(node.pos, node.end);
    if (node.value.type === 'ArrayValue') {
      for (const element of node.value.elements) resolveWord(element, ctx);
      return { name: node.name, value: null, span: s };
    }
    const values = resolveWord(node.value, ctx);
    return { name: node.name, value: values.length === 1 ? (values[0] ?? null) : null, span: s };
  }

  redirect(node: Redirection, ctx: WordContext): RawRedirect {
    const s = ctx.span(node.pos, node.end);
    const fd = node.descriptor?.type === 'FileDescriptor' ? node.descriptor.value : null;
    switch (node.type) {
      case 'Redirect':
      case 'HereString': {
        const values = node.target ? resolveWord(node.target, ctx) : [];
        const target: WordValue | null =
          values.length === 1
            ? (values[0] ?? null)
            : values.length > 1
              ? { kind: 'dynamic', text: node.target?.text ?? '', split: false, span: s }
              : null;
        return { operator: node.operator, fd, target, heredoc: null, span: s };
      }
      case 'HereDoc': {
        const literal = node.delimiter?.quoted ?? false;
        if (!literal && node.body.parts) {
          // An unquoted delimiter makes the body expand: $(…) in it runs.
          for (const part of node.body.parts) {
            resolveWord(
              {
                type: 'Word',
                text: part.text,
                value: part.text,
                pos: part.pos,
                end: part.end,
                parts: [part],
              },
              { ...ctx, hazard: (h) => (h.code === 'line-continuation' ? undefined : ctx.hazard(h)) },
            );
          }
        }
        return {
          operator: node.operator,
          fd,
          target: null,
          heredoc: { text: node.body.text, literal: literal || !node.body.parts?.length },
          span: s,
        };
      }
      default:
        return assertNever(node);
    }
  }

  test(expression: TestExpression, span: SpanMapper, bindings: Bindings): void {
    const ctx = this.wordContext(span, bindings);
    switch (expression.type) {
      case 'TestUnary':
        resolveWord(expression.operand, ctx);
        if (expression.operator === '-v' && expression.operand.text.includes('[')) {
          this.indirection(ctx.span(expression.pos, expression.end));
        }
        return;
      case 'TestBinary': {
        const left = resolveWord(expression.left, ctx);
        const right = resolveWord(expression.right, ctx);
        if (/^-(eq|ne|lt|le|gt|ge)$/.test(expression.operator)) {
          // [[ a -eq b ]] evaluates both sides as arithmetic, which expands array subscripts in values.
          for (const value of [...left, ...right]) {
            if (value.kind !== 'literal' || !/^-?\d+$/.test(value.value)) {
              this.indirection(ctx.span(expression.pos, expression.end));
            }
          }
        }
        return;
      }
      case 'TestLogical':
        for (const operand of expression.operands) this.test(operand, span, bindings);
        return;
      case 'TestNot':
        this.test(expression.operand, span, bindings);
        return;
      case 'TestGroup':
        this.test(expression.expression, span, bindings);
        return;
      default:
        assertNever(expression);
    }
  }

  arithmetic(expression: ArithmeticExpression | undefined, span: SpanMapper, bindings: Bindings): void {
    if (!expression) return;
    switch (expression.type) {
      case 'ArithmeticBinary':
        this.arithmetic(expression.left, span, bindings);
        this.arithmetic(expression.right, span, bindings);
        return;
      case 'ArithmeticUnary':
        this.arithmetic(expression.operand, span, bindings);
        return;
      case 'ArithmeticTernary':
        this.arithmetic(expression.test, span, bindings);
        this.arithmetic(expression.consequent, span, bindings);
        this.arithmetic(expression.alternate, span, bindings);
        return;
      case 'ArithmeticGroup':
        this.arithmetic(expression.expression, span, bindings);
        return;
      case 'ArithmeticWord': {
        const s = span(expression.pos, expression.end);
        // `(( x = 1 ))`, `(( x++ ))`: a name in arithmetic may be assigned there.
        if (/^[A-Za-z_]\w*$/.test(expression.value)) this.state.assignedNames.add(expression.value);
        if (expression.parts) {
          const ctx = this.wordContext(span, bindings);
          resolveWord(
            {
              type: 'Word',
              text: expression.value,
              value: expression.value,
              pos: expression.pos,
              end: expression.end,
              parts: expression.parts,
            },
            ctx,
          );
        }
        // A variable's value is itself evaluated as arithmetic, and `a[$(cmd)]` in it runs cmd.
        if (/^[A-Za-z_]\w*$/.test(expression.value)) {
          this.state.arithmeticNames.push({ name: expression.value, span: s });
        } else if (!/^(0[xX][0-9a-fA-F]+|\d+(#[0-9a-zA-Z@_]+)?)$/.test(expression.value)) {
          this.indirection(s);
        }
        return;
      }
      case 'ArithmeticCommandExpansion':
        this.nested(expression.script, span(expression.pos, expression.end), bindings);
        return;
      default:
        assertNever(expression);
    }
  }

  /**
   * Builtins that assign the variables their arguments name (`read x`, `export X`, `printf -v x`,
   * `declare -n r=X`): those names count as assigned. A name only known at run time, or text run
   * as shell code in this shell (`eval`, `source`), may assign anything.
   */
  noteAssigningBuiltin(words: readonly WordValue[]): void {
    const [name, ...args] = words;
    const program = name?.kind === 'literal' ? name.value : null;
    if (program === null) return;
    if (program === 'eval' || program === 'source' || program === '.') {
      this.state.assignsUnknownNames = true;
      return;
    }
    if (!ASSIGNING_BUILTINS.has(program)) return;
    for (const arg of args) {
      if (arg.kind !== 'literal') {
        this.state.assignsUnknownNames = true;
        continue;
      }
      const match = /^-*([A-Za-z_]\w*)/.exec(arg.value);
      if (match) this.assignedOtherwise(match[1] as string);
      // `declare -n ref=NAME` makes ref an alias of NAME.
      const target = /=([A-Za-z_]\w*)$/.exec(arg.value);
      if (target) this.assignedOtherwise(target[1] as string);
    }
  }

  /**
   * `for m in 01 02 03`, `for d in {a..c}`: a loop over a few literal words runs its body once per
   * word, in order, so the body is walked once per word with the variable bound to it (what each
   * iteration does is judged exactly, `cd` included). Past `MAX_LOOP_WORDS` words, or when the
   * walks would leave more than `MAX_UNROLLED_COMMANDS` commands, everything they added is undone
   * and the caller walks the body once with the variable unknown, as before.
   */
  unrolled(
    body: CompoundList,
    span: SpanMapper,
    bindings: Bindings,
    name: string,
    values: readonly WordValue[],
  ): boolean {
    if (values.length < 2 || values.length > MAX_LOOP_WORDS) return false;
    const words = values.filter((v): v is LiteralWord => v.kind === 'literal');
    if (words.length !== values.length) return false;
    const walked = this.walkVariants(
      (b) => this.list(body, span, b),
      words.map((word) => new Map(bindings).set(name, word)),
    );
    if (walked) this.state.boundNames.add(name);
    return walked;
  }

  /**
   * Walks the same code once per set of bindings, in order. When that would leave more than
   * `MAX_UNROLLED_COMMANDS` commands, everything the walks added is undone and `false` returned, so
   * the caller walks the code once with the values unknown.
   */
  walkVariants(walk: (bindings: Bindings) => void, variants: readonly Bindings[]): boolean {
    const state = this.state;
    const mark = {
      items: state.items.length,
      hazards: state.hazards.length,
      pending: state.pending.length,
      functions: state.functions.length,
      arithmeticNames: state.arithmeticNames.length,
      calls: new Map([...state.calls].map(([name, list]) => [name, list.length])),
      assignedNames: new Set(state.assignedNames),
      boundNames: new Set(state.boundNames),
      loopNames: new Set(state.loopNames),
      numericAssigned: new Set(state.numericAssigned),
      otherAssigned: new Set(state.otherAssigned),
      assignsUnknownNames: state.assignsUnknownNames,
    };
    for (const bindings of variants) walk(bindings);
    if (state.items.length <= MAX_UNROLLED_COMMANDS) return true;
    state.items.length = mark.items;
    state.hazards.length = mark.hazards;
    state.pending.length = mark.pending;
    state.functions.length = mark.functions;
    state.arithmeticNames.length = mark.arithmeticNames;
    for (const [name, list] of state.calls) {
      const kept = mark.calls.get(name);
      if (kept === undefined) state.calls.delete(name);
      else list.length = kept;
    }
    for (const key of [
      'assignedNames',
      'boundNames',
      'loopNames',
      'numericAssigned',
      'otherAssigned',
    ] as const) {
      state[key].clear();
      for (const n of mark[key]) state[key].add(n);
    }
    state.assignsUnknownNames = mark.assignsUnknownNames;
    return false;
  }

  assignedOtherwise(name: string): void {
    this.state.assignedNames.add(name);
    this.state.otherAssigned.add(name);
  }

  takePending(): Effect[] {
    const pending = this.state.pending;
    this.state.pending = [];
    return pending;
  }

  indirection(span: Span): void {
    indirectionHazard(this.state, span);
  }

  nested(script: ParsedScript | undefined, outer: Span, bindings: Bindings): void {
    if (!script) {
      this.state.hazards.push({
        code: 'parse-error',
        detail: 'an unparsed substitution',
        span: outer,
        floor: 'ask',
      });
      return;
    }
    // Escaped-backtick scripts index their own decoded source; map all their spans to the outer part.
    const mapper: SpanMapper =
      script.source !== undefined ? () => outer : (pos, end) => ({ start: pos, end });
    this.script(script, mapper, bindings);
  }

  wordContext(span: SpanMapper, bindings: Bindings): WordContext {
    return {
      bindings,
      span,
      nestedScript: (script, outer) => this.nested(script, outer, bindings),
      arithmetic: (expression) => this.arithmetic(expression, span, bindings),
      variableRead: (name, s) => {
        this.state.pending.push({ kind: 'env-read', name, span: s });
      },
      assigned: (name) => {
        if (name === '(indirect)') this.state.assignsUnknownNames = true;
        else this.assignedOtherwise(name);
      },
      hazard: (h) => this.state.hazards.push(h),
    };
  }
}

/** Builtins whose arguments name variables they set. */
const ASSIGNING_BUILTINS: ReadonlySet<string> = new Set([
  'read',
  'mapfile',
  'readarray',
  'getopts',
  'printf',
  'declare',
  'typeset',
  'local',
  'export',
  'readonly',
  'let',
  'unset',
  'select',
]);

/*
 * Security limitations
 * - Variable values are tracked only for HOME and for `for` loops over literal words (one word, or
 *   up to MAX_LOOP_WORDS walked once each), and only when nothing in the script could reassign
 *   them; every other expansion is unknown. A walked loop judges every iteration, even ones a
 *   `break` would skip.
 * - Arithmetic on a variable is refused, because bash evaluates its value as an expression (array
 *   subscripts in it run commands), except counters the script only ever sets to integers
 *   (judgeArithmeticNames); `[[ $n -lt 3 ]]` is refused even for those.
 */
