import type {
  ArithmeticExpression,
  DoubleQuotedChild,
  ParameterExpansionPart,
  ParsedScript,
  Word,
  WordPart,
} from 'unbash';
import { MAX_BRACE_WORDS } from './limits.ts';
import type { Hazard, Span, WordValue } from './types.ts';
import { assertNever } from './assert-never.ts';

export type LiteralWord = Extract<WordValue, { kind: 'literal' }>;

/** What resolving a word needs from the walker: variable bindings and somewhere to send nested code. */
export interface WordContext {
  /** Variables whose value is known statically (loop variables over one literal word, HOME). */
  readonly bindings: ReadonlyMap<string, LiteralWord>;
  span(pos: number, end: number): Span;
  /** A `$(…)`, backtick or `<(…)` script: its commands run too and must be judged. */
  nestedScript(script: ParsedScript | undefined, span: Span): void;
  arithmetic(expression: ArithmeticExpression | undefined, span: Span): void;
  variableRead(name: string, span: Span): void;
  hazard(hazard: Hazard): void;
}

const GLOB_META = /[*?[\]\\{}()!@+|]/g;

/** `$(git ls-files)`, `$(git diff --name-only …)`: the workspace's own file list, nothing else in it. */
const LISTING =
  /^(?:\$\(|`)\s*git\s+(?:ls-files|diff\s+(?:--cached\s+)?--name-only)(?:\s+[-\w./=*]+)*\s*(?:\)|`)$/;

export function escapeGlob(text: string): string {
  return text.replace(GLOB_META, (c) => `\\${c}`);
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
  if (word.text.includes('\\\n')) {
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
    const listing = pieces.length === 1 && pieces[0]?.listing === true;
    // A glob with `**` for each run-time part, when something literal and path-like is left.
    const pattern = pieces.map((p) => (p.dynamic ? '**' : p.pattern)).join('');
    // Only when the word starts literally: `$X/y` may be anywhere, `build/$X.o` is below build/.
    const informative = pieces[0]?.dynamic === false && /[^*/.]/.test(pattern.replace(/\*\*/g, ''));
    return {
      kind: 'dynamic',
      text,
      split,
      span,
      ...(informative && !pattern.startsWith('-') ? { pattern } : {}),
      ...(listing ? { listing } : {}),
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
    case 'LocaleString': {
      const pieces = part.parts.map((child) => resolveQuotedChild(child, ctx));
      if (pieces.some((p) => p.dynamic)) return [dynamicPiece(false)];
      const value = pieces.map((p) => p.value).join('');
      return [
        { value, pattern: pieces.map((p) => p.pattern).join(''), glob: false, dynamic: false, split: false },
      ];
    }
    case 'SimpleExpansion':
      return [variablePiece(part.text.slice(1), ctx, ctx.span(part.pos, part.end), false)];
    case 'ParameterExpansion':
      return [parameterPiece(part, ctx, false)];
    case 'CommandExpansion':
      ctx.nestedScript(part.script, ctx.span(part.pos, part.end));
      return [LISTING.test(part.text) ? { ...dynamicPiece(true), listing: true } : dynamicPiece(true)];
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

function resolveQuotedChild(child: DoubleQuotedChild, ctx: WordContext): Piece {
  switch (child.type) {
    case 'Literal':
      return literalPiece(child.value);
    case 'SimpleExpansion':
      return variablePiece(child.text.slice(1), ctx, ctx.span(child.pos, child.end), true);
    case 'ParameterExpansion':
      return parameterPiece(child, ctx, true);
    case 'CommandExpansion':
      ctx.nestedScript(child.script, ctx.span(child.pos, child.end));
      return dynamicPiece(false);
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
    // A bound loop variable stands for one of the file names its glob matched: keep it as a pattern.
    return { value: bound.value, pattern: bound.pattern, glob: bound.glob, dynamic: false, split: false };
  }
  return dynamicPiece(!quoted);
}

function parameterPiece(part: ParameterExpansionPart, ctx: WordContext, quoted: boolean): Piece {
  const span = ctx.span(part.pos, part.end);
  if (part.index) resolveWord(part.index, ctx);
  const operation = part.operation;
  if (operation) {
    switch (operation.type) {
      case 'Default':
      case 'Remove':
      case 'Transform':
        resolveWord(operation.operand, ctx);
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
  if (/^-?\d+\.\.-?\d+$/.test(inner)) {
    return [{ value: text, pattern: '*', glob: false, dynamic: true, split: true }];
  }
  if (!inner.includes(',') && !inner.includes('..')) return [literalPiece(text)];
  return [dynamicPiece(true)];
}
