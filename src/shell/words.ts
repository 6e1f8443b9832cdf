import type {
  ArithmeticExpression,
  DoubleQuotedChild,
  ParameterExpansionPart,
  ParsedScript,
  Word,
  WordPart,
} from 'unbash';
import { MAX_BRACE_WORDS } from './limits.ts';
import type { Hazard, ListingShape, Span, WordValue } from './types.ts';
import { assertNever } from './assert-never.ts';

export type LiteralWord = Extract<WordValue, { kind: 'literal' }>;
/** A run-time word known to be one path of a listing (a loop over `$(find ROOT -name NAME)`). */
export type ShapedWord = Extract<WordValue, { kind: 'dynamic' }> & { readonly shape: ListingShape };

/** What resolving a word needs from the walker: variable bindings and somewhere to send nested code. */
export interface WordContext {
  /** Variables whose value is known statically (loop variables over one literal word, HOME). */
  readonly bindings: ReadonlyMap<string, LiteralWord | ShapedWord>;
  span(pos: number, end: number): Span;
  /** A `$(…)`, backtick or `<(…)` script: its commands run too and must be judged. */
  nestedScript(script: ParsedScript | undefined, span: Span): void;
  arithmetic(expression: ArithmeticExpression | undefined, span: Span): void;
  variableRead(name: string, span: Span): void;
  /** A name the script may assign while expanding a word (`${X:=y}`, `${!n}`). */
  assigned?(name: string): void;
  hazard(hazard: Hazard): void;
}

const GLOB_META = /[*?[\]\\{}()!@+|]/g;

/** `$(git ls-files)`, `$(git diff --name-only …)`: the workspace's own file list, nothing else in it. */
const LISTING =
  /^(?:\$\(|`)\s*git\s+(?:ls-files|diff\s+(?:--cached\s+)?--name-only)(?:\s+[-\w./=*]+)*\s*(?:\)|`)$/;

export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, (c) => `\\${c}`);
}

/** A path or value known in full, as the analysis' word: its pattern matches that text only. */
export function literalWord(value: string, span: WordValue['span']): LiteralWord {
  return { kind: 'literal', value, pattern: escapeGlob(value), glob: false, span };
}

interface Piece {
  value: string;
  pattern: string;
  glob: boolean;
  dynamic: boolean;
  split: boolean;
  /** An unquoted `$IFS`: with the default IFS it only separates words. */
  ifs?: boolean;
  /** The output of a command that lists the workspace's files. */
  listing?: boolean;
  /** The output of `find ROOT [-name NAME]`: paths at or below ROOT (named NAME). */
  shape?: ListingShape;
  /** A plain expansion of this variable (`$X`, `"${X}"`, `${X:-literal}`), nothing computed. */
  variable?: string;
}

function literalPiece(value: string): Piece {
  return { value, pattern: escapeGlob(value), glob: false, dynamic: false, split: false };
}

function dynamicPiece(split: boolean): Piece {
  return { value: '', pattern: '*', glob: false, dynamic: true, split };
}

/**
 * Resolves one word to the words the shell would produce. Brace expansion can produce several; a word
 * that depends on run-time values (variables, substitutions) is `dynamic`.
 */
export function resolveWord(word: Word, ctx: WordContext): WordValue[] {
  const span = ctx.span(word.pos, word.end);
  if (word.text.includes('\\\n') && !onlyQuotedTextContinues(word)) {
    // Bash folds backslash-newline before it tokenises in some contexts (inside "$\<nl>(…)" it forms a
    // command substitution) that parsers disagree on; we refuse to guess.
    ctx.hazard({
      code: 'line-continuation',
      detail: 'a line continuation inside a word',
      span,
      floor: 'ask',
    });
  }
  const parts = word.parts;
  if (parts === undefined) {
    return [{ kind: 'literal', value: word.value, pattern: escapeGlob(word.value), glob: false, span }];
  }
  let alternatives: Piece[][] = [[]];
  for (const part of parts) {
    if (part.type === 'DoubleQuoted' || part.type === 'LocaleString') {
      // One quoted part is one run of pieces in every alternative, never alternatives itself:
      // `"a/$V/b"` is one word, not the three words `a/`, `$V` and `/b`.
      const run = resolveDoubleQuoted(part, ctx);
      for (const alt of alternatives) alt.push(...run);
      continue;
    }
    const options = resolvePart(part, ctx);
    if (options.length === 1) {
      const only = options[0] as Piece;
      for (const alt of alternatives) alt.push(only);
    } else {
      const next: Piece[][] = [];
      for (const alt of alternatives) for (const option of options) next.push([...alt, option]);
      alternatives = next;
      if (alternatives.length > MAX_BRACE_WORDS) {
        return [{ kind: 'dynamic', text: word.text, split: true, span }];
      }
    }
  }
  return alternatives.flatMap((pieces) =>
    splitOnIfs(pieces).map((field) => joinPieces(field, word.text, span)),
  );
}

/**
 * Field splitting on unquoted `$IFS`: IFS is never trusted to be changed (assigning it is refused),
 * so it is space, tab and newline, and `rm${IFS}-rf` is the two words `rm` and `-rf`.
 */
/**
 * Whether every backslash-newline of the word continues plain text inside double quotes (`"a long \
 * line"`), where bash and every parser drop it alike: not after a `$` (`"$\<nl>(id)"` forms an
 * expansion), not in a quoted part with a backquote, never outside quotes (`cu\<nl>rl`).
 */
function onlyQuotedTextContinues(word: Word): boolean {
  const quoted = (word.parts ?? []).filter(
    (part) => part.type === 'DoubleQuoted' && !part.text.includes('`') && !part.text.includes('$\\\n'),
  );
  for (let at = word.text.indexOf('\\\n'); at >= 0; at = word.text.indexOf('\\\n', at + 2)) {
    const position = word.pos + at;
    if (!quoted.some((part) => part.pos < position && position + 2 < part.end)) return false;
  }
  return true;
}

function splitOnIfs(pieces: readonly Piece[]): Piece[][] {
  if (!pieces.some((p) => p.ifs)) return [[...pieces]];
  const fields: Piece[][] = [[]];
  for (const piece of pieces) {
    if (piece.ifs) fields.push([]);
    else fields[fields.length - 1]?.push(piece);
  }
  return fields.filter((f) => f.length > 0);
}

function joinPieces(pieces: readonly Piece[], text: string, span: Span): WordValue {
  if (pieces.some((p) => p.dynamic)) {
    const split = pieces.some((p) => p.split);
    const only = pieces.length === 1 ? pieces[0] : undefined;
    const listing = only?.listing === true;
    // A glob with `**` for each run-time part, when something literal and path-like is left:
    // `build/$X.o` is below build/, and `$D/.ssh/id_rsa` is some `.ssh/id_rsa` (`**/.ssh/id_rsa`),
    // which a rule protecting every `id_rsa` covers whatever $D holds.
    const pattern = pieces.map((p) => (p.dynamic ? '**' : p.pattern)).join('');
    const informative = /[^*/.]/.test(pattern.replace(/\*\*/g, ''));
    const variables = pieces.filter((p) => p.dynamic).map((p) => p.variable);
    const sessionVariables = variables.every((v) => v !== undefined) ? (variables as string[]) : undefined;
    return {
      kind: 'dynamic',
      text,
      split,
      span,
      ...(informative && !pattern.startsWith('-') ? { pattern } : {}),
      ...(listing ? { listing } : {}),
      ...(only?.shape ? { shape: only.shape } : {}),
      ...(sessionVariables ? { variables: sessionVariables } : {}),
    };
  }
  return {
    kind: 'literal',
    value: pieces.map((p) => p.value).join(''),
    // Without globstar, bash reads `**` as `*`; `**` in a path pattern is reserved for "any depth".
    pattern: pieces
      .map((p) => p.pattern)
      .join('')
      .replace(/(?<!\\)\*{2,}/g, '*'),
    glob: pieces.some((p) => p.glob),
    span,
  };
}

function resolvePart(part: WordPart, ctx: WordContext): Piece[] {
  switch (part.type) {
    case 'Literal':
      return [literalPiece(part.value)];
    case 'SingleQuoted':
    case 'AnsiCQuoted':
      return [literalPiece(part.value)];
    case 'Glob':
      return [{ value: part.text, pattern: part.text, glob: true, dynamic: false, split: false }];
    case 'ExtendedGlob':
      // Extended globs are over-approximated by `*`: they can only match what `*` matches.
      if (part.parts) for (const p of part.parts) resolvePart(p, ctx);
      return [{ value: part.text, pattern: '*', glob: true, dynamic: false, split: false }];
    case 'DoubleQuoted':
    case 'LocaleString':
      return resolveDoubleQuoted(part, ctx);
    case 'SimpleExpansion':
      return [variablePiece(part.text.slice(1), ctx, ctx.span(part.pos, part.end), false)];
    case 'ParameterExpansion':
      return [parameterPiece(part, ctx, false)];
    case 'CommandExpansion': {
      ctx.nestedScript(part.script, ctx.span(part.pos, part.end));
      const shape = listingShape(part.script);
      const piece: Piece = LISTING.test(part.text)
        ? { ...dynamicPiece(true), listing: true }
        : dynamicPiece(true);
      return [shape ? { ...piece, shape } : piece];
    }
    case 'ArithmeticExpansion':
      ctx.arithmetic(part.expression, ctx.span(part.pos, part.end));
      return [dynamicPiece(true)];
    case 'ProcessSubstitution':
      ctx.nestedScript(part.script, ctx.span(part.pos, part.end));
      // The word becomes a /dev/fd path; what runs inside is judged as its own script.
      return [{ value: '/dev/fd/63', pattern: '/dev/fd/63', glob: false, dynamic: false, split: false }];
    case 'BraceExpansion':
      return braceAlternatives(part.text);
    default:
      return assertNever(part);
  }
}

/** The pieces of a double-quoted part, in order: together they are one run of one word. */
function resolveDoubleQuoted(
  part: Extract<WordPart, { type: 'DoubleQuoted' | 'LocaleString' }>,
  ctx: WordContext,
): Piece[] {
  const pieces = part.parts.map((child) => resolveQuotedChild(child, ctx));
  if (pieces.some((p) => p.dynamic)) {
    // `"$X"` and `"$(find …)"` keep what is known of their one run-time part; `"a$X"` is
    // joined like the unquoted pieces so its literal parts still say where it points.
    if (pieces.length === 1) return [{ ...(pieces[0] as Piece), split: false }];
    return pieces.map((p) => (p.dynamic ? { ...p, split: false } : { ...p, glob: false }));
  }
  const value = pieces.map((p) => p.value).join('');
  return [
    { value, pattern: pieces.map((p) => p.pattern).join(''), glob: false, dynamic: false, split: false },
  ];
}

function resolveQuotedChild(child: DoubleQuotedChild, ctx: WordContext): Piece {
  switch (child.type) {
    case 'Literal':
      return literalPiece(child.value);
    case 'SimpleExpansion':
      return variablePiece(child.text.slice(1), ctx, ctx.span(child.pos, child.end), true);
    case 'ParameterExpansion':
      return parameterPiece(child, ctx, true);
    case 'CommandExpansion': {
      ctx.nestedScript(child.script, ctx.span(child.pos, child.end));
      const shape = listingShape(child.script);
      return shape ? { ...dynamicPiece(false), shape } : dynamicPiece(false);
    }
    case 'ArithmeticExpansion':
      ctx.arithmetic(child.expression, ctx.span(child.pos, child.end));
      return dynamicPiece(false);
    default:
      return assertNever(child);
  }
}

function variablePiece(name: string, ctx: WordContext, span: Span, quoted: boolean): Piece {
  ctx.variableRead(name, span);
  if (name === 'IFS' && !quoted)
    return { value: '', pattern: '', glob: false, dynamic: false, split: false, ifs: true };
  const bound = ctx.bindings.get(name);
  if (bound !== undefined) {
    if (bound.kind === 'dynamic') {
      // A loop over one listing (`for f in $(find /home -name .netrc)`): each value lies where it lists.
      return bound.shape ? { ...dynamicPiece(!quoted), shape: bound.shape } : dynamicPiece(!quoted);
    }
    // A bound loop variable stands for one of the file names its glob matched: keep it as a pattern.
    return { value: bound.value, pattern: bound.pattern, glob: bound.glob, dynamic: false, split: false };
  }
  return { ...dynamicPiece(!quoted), variable: name };
}

function parameterPiece(part: ParameterExpansionPart, ctx: WordContext, quoted: boolean): Piece {
  const span = ctx.span(part.pos, part.end);
  if (part.index) resolveWord(part.index, ctx);
  const operation = part.operation;
  if (operation) {
    switch (operation.type) {
      case 'Default':
      case 'Remove':
      case 'Transform': {
        const operand = resolveWord(operation.operand, ctx);
        if (operation.type === 'Default' && /^:?[-+]$/.test(operation.operator)) {
          // `${X:-~/.cargo}`: the variable or a literal default, nothing computed.
          const literalOperand = operand.every((w) => w.kind === 'literal');
          ctx.variableRead(part.parameter, span);
          if (literalOperand && part.prefix === undefined && part.index === undefined) {
            return { ...dynamicPiece(!quoted), variable: part.parameter };
          }
          return dynamicPiece(!quoted);
        }
        if (operation.type === 'Default') ctx.assigned?.(part.parameter);
        if (operation.type === 'Transform' && /[PEAKak]/.test(operation.operand.text)) {
          // ${x@P} runs prompt expansion, which performs command substitution on the value.
          ctx.hazard({
            code: 'prompt-expansion',
            detail: `\${…@${operation.operand.text}} re-expands a value at run time`,
            span,
            floor: 'ask',
          });
        }
        break;
      }
      case 'Replace':
        resolveWord(operation.pattern, ctx);
        resolveWord(operation.replacement, ctx);
        break;
      case 'Slice':
        resolveWord(operation.offset, ctx);
        if (operation.length) resolveWord(operation.length, ctx);
        break;
      case 'CaseModification':
        if (operation.operand) resolveWord(operation.operand, ctx);
        break;
      case 'Names':
      case 'Unknown':
        break;
      default:
        assertNever(operation);
    }
    ctx.variableRead(part.parameter, span);
    return dynamicPiece(!quoted);
  }
  if (part.prefix !== undefined || part.index !== undefined) {
    ctx.variableRead(part.prefix === '!' ? '(indirect)' : part.parameter, span);
    // `${!n}` may name any variable, including one the command assigned.
    if (part.prefix === '!') ctx.assigned?.('(indirect)');
    return dynamicPiece(!quoted);
  }
  return variablePiece(part.parameter, ctx, span, quoted);
}

/** Expands `{a,b}` when every item is plain text; anything else (`{1..9}`, nesting) is unknown. */
function braceAlternatives(text: string): Piece[] {
  const inner = text.slice(1, -1);
  if (/^[\w./:@%+=-]*(,[\w./:@%+=-]*)+$/.test(inner)) {
    return inner.split(',').map(literalPiece);
  }
  const sequence = braceSequence(inner);
  if (sequence !== null) return sequence.map(literalPiece);
  if (/^-?\d+\.\.-?\d+$/.test(inner)) {
    return [{ value: text, pattern: '*', glob: false, dynamic: true, split: true }];
  }
  if (!inner.includes(',') && !inner.includes('..')) return [literalPiece(text)];
  return [dynamicPiece(true)];
}

/**
 * The words of a sequence expression as bash writes them: `{1..4}`, `{01..12}` (zero-padded to the
 * wider end when either end starts with 0), `{0..10..2}`, `{a..e}`. Unsigned ends only, at most
 * MAX_BRACE_WORDS words; anything else is `null` (the caller keeps it unknown).
 */
function braceSequence(inner: string): string[] | null {
  const numeric = /^(\d+)\.\.(\d+)(?:\.\.(\d+))?$/.exec(inner);
  const letters = /^([a-zA-Z])\.\.([a-zA-Z])(?:\.\.(\d+))?$/.exec(inner);
  const match = numeric ?? letters;
  if (match === null) return null;
  const [, from = '', to = '', by] = match;
  const step = Math.max(1, Number(by ?? '1'));
  const start = numeric ? Number(from) : from.charCodeAt(0);
  const end = numeric ? Number(to) : to.charCodeAt(0);
  if (!numeric && /[a-z]/.test(from) !== /[a-z]/.test(to)) return null;
  const count = Math.floor(Math.abs(end - start) / step) + 1;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || count > MAX_BRACE_WORDS) return null;
  const width = numeric && (/^0\d/.test(from) || /^0\d/.test(to)) ? Math.max(from.length, to.length) : 0;
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    const value = start <= end ? start + i * step : start - i * step;
    words.push(numeric ? String(value).padStart(width, '0') : String.fromCharCode(value));
  }
  return words;
}

/** A word whose value is fixed by the text (`x`, `'a b'`, `"./dir"`), or `null`. */
function literalText(word: Word): string | null {
  if (word.parts === undefined) return word.value;
  let out = '';
  for (const part of word.parts) {
    if (part.type === 'Literal' || part.type === 'SingleQuoted') out += part.value;
    else if (part.type === 'DoubleQuoted' && part.parts.every((c) => c.type === 'Literal'))
      out += part.parts.map((c) => (c.type === 'Literal' ? c.value : '')).join('');
    else return null;
  }
  return out;
}

/** Filters that print a subset of the lines they read, unchanged: a listing stays a listing. */
function keepsLines(name: string, args: readonly string[]): boolean {
  switch (name) {
    case 'head':
    case 'tail':
    case 'sort':
    case 'uniq':
      return true;
    case 'grep':
    case 'egrep':
    case 'fgrep':
      // -o, -c, -b and friends print something other than whole input lines.
      return !args.some((a) => /^-[^-]*[ocbLlZ]|^--(only|count|byte|files|null)/.test(a));
    case 'xargs':
      // `xargs [-0] ls [-t -r -S -1 -d]` prints back the names it was given.
      return (
        args.filter((a) => a !== '-0' && a !== '-r').join(' ') === 'ls' ||
        /^(-0 |-r )*ls( -[trSd1]+)*$/.test(args.join(' '))
      );
    default:
      return false;
  }
}

/**
 * What a command substitution prints, when it is a listing whose paths are known to lie below a
 * literal directory: `$(find ROOT … [-name NAME])`, optionally filtered (`| head -n1`, `| sort`).
 * Then a word that is exactly its output names entries below ROOT (named NAME), so a rule for that
 * place or name judges it like `find ROOT -name NAME` itself. `null` for anything else.
 */
function listingShape(script: ParsedScript | undefined): ListingShape | null {
  if (!script || script.errors?.length || script.commands.length !== 1) return null;
  const top = script.commands[0]?.command;
  if (!top || top.type === 'AndOr') return null;
  const stages = top.type === 'Pipeline' ? top.commands : [top];
  const words: string[][] = [];
  for (const stage of stages) {
    if (stage.type !== 'Command' || !stage.name || stage.prefix.length > 0) return null;
    // Only stderr may be redirected (`2>/dev/null`): stdout is the listing.
    if (
      stage.redirects.some(
        (r) =>
          r.type !== 'Redirect' ||
          r.descriptor?.type !== 'FileDescriptor' ||
          String(r.descriptor.value) !== '2',
      )
    )
      return null;
    const name = literalText(stage.name);
    // Redirections also appear among the suffix items; they were checked above.
    const args = stage.suffix.flatMap((a) =>
      a.type === 'Word' ? [literalText(a)] : a.type === 'Redirect' ? [] : [null],
    );
    if (name === null || args.some((a) => a === null)) return null;
    words.push([name, ...(args as string[])]);
  }
  const [first, ...filters] = words;
  if (!first || first[0] !== 'find') return null;
  if (!filters.every(([name, ...args]) => keepsLines(name ?? '', args))) return null;
  const args = first.slice(1);
  const roots: string[] = [];
  while (roots.length < args.length && !/^[-(!]/.test(args[roots.length] ?? '-'))
    roots.push(args[roots.length] as string);
  const expression = args.slice(roots.length);
  if (roots.length !== 1) return null;
  // Other actions or alternatives print other things, or other names.
  if (
    expression.some((a) =>
      /^(-o|-or|-not|!|,|-exec|-execdir|-ok|-okdir|-printf|-fprint.*|-ls|-fls|-delete|-L|-H|-follow)$/.test(
        a,
      ),
    )
  )
    return null;
  const names = expression.flatMap((a, i) => (a === '-name' ? [expression[i + 1]] : []));
  const root = roots[0] as string;
  if (names.length === 1 && names[0] !== undefined && !expression.includes('-iname'))
    return { root, name: names[0] };
  return { root };
}
