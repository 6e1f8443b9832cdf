import {
  globsIntersect,
  globSubsumes,
  globToRegExp,
  hasWildcards,
  tokenizeGlob,
  type CodeVia,
  type Effect,
  type EffectKind,
  type GlobToken,
} from '../shell/index.ts';
import type { DecisionValue } from './schema.ts';

export interface CompiledGlob {
  readonly text: string;
  readonly tokens: readonly GlobToken[];
  readonly regex: RegExp;
  /** The literal directories leading to the glob (`~/.ssh` for `~/.ssh/**`): a bulk effect on one of them reaches it. */
  readonly ancestors: readonly (readonly GlobToken[])[];
  /** Literal text before the first and after the last wildcard: a cheap test that rules most pairs out. */
  readonly prefix: string;
  readonly suffix: string;
}

function literalPrefix(tokens: readonly GlobToken[]): string {
  let out = '';
  for (const t of tokens) {
    if (t.t !== 'lit') break;
    out += t.c;
  }
  return out;
}

function literalSuffix(tokens: readonly GlobToken[]): string {
  let out = '';
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i] as GlobToken;
    if (t.t !== 'lit') break;
    out = t.c + out;
  }
  return out;
}

/** Can the glob cover every string of a target with these literal ends? (`false` only when it cannot.) */
function mayCover(glob: CompiledGlob, prefix: string, suffix: string | null): boolean {
  if (!prefix.startsWith(glob.prefix)) return false;
  return suffix === null ? glob.suffix === '' : suffix.endsWith(glob.suffix);
}

/** Could two patterns with these literal ends share a string? (`false` only when they cannot.) */
function compatible(glob: CompiledGlob, prefix: string, suffix: string | null): boolean {
  if (!(glob.prefix.startsWith(prefix) || prefix.startsWith(glob.prefix))) return false;
  if (suffix !== null && !(glob.suffix.endsWith(suffix) || suffix.endsWith(glob.suffix))) return false;
  return true;
}

function literalAncestors(text: string): GlobToken[][] {
  const segments = text.split('/');
  const out: GlobToken[][] = [];
  for (let n = 2; n < segments.length; n++) {
    const prefix = segments.slice(0, n);
    if (prefix.some((seg) => /[*?[{]/.test(seg))) break;
    const dir = prefix.join('/');
    if (dir === '' || dir === '~' || dir === '.') continue;
    out.push(tokenizeGlob(dir));
  }
  return out;
}

export interface CompiledRule {
  readonly id: string;
  readonly decision: DecisionValue;
  readonly reason: string;
  /** argv prefixes; each word is a regular expression for one argument. */
  readonly prefixes: CompiledPrefixes | null;
  readonly kinds: ReadonlySet<EffectKind> | null;
  readonly targets: readonly CompiledGlob[] | null;
  readonly except: readonly CompiledGlob[];
  readonly langs: readonly CompiledGlob[] | null;
  readonly via: ReadonlySet<CodeVia> | null;
}

/** argv prefixes indexed by a literal program name, so a command is compared with few of them. */
export interface CompiledPrefixes {
  readonly byProgram: ReadonlyMap<string, readonly (readonly RegExp[])[]>;
  /** Prefixes whose first word is a pattern (`*`, `py*`). */
  readonly other: readonly (readonly RegExp[])[];
}

export function compilePrefixes(patterns: readonly string[]): CompiledPrefixes {
  const byProgram = new Map<string, RegExp[][]>();
  const other: RegExp[][] = [];
  for (const pattern of patterns.flatMap(expandBraces)) {
    const words = pattern.trim().split(/\s+/);
    const compiled = words.map(compileArgWord);
    const first = words[0] ?? '';
    if (/[*?\\]/.test(first)) other.push(compiled);
    else byProgram.set(first, [...(byProgram.get(first) ?? []), compiled]);
  }
  return { byProgram, other };
}

/** `yes`: certainly matches; `maybe`: matches for some run-time value; `no`: cannot match. */
export type MatchResult = 'yes' | 'maybe' | 'no';

/** Expands `{a,b}` alternatives (one level, repeated) before compiling a glob. */
export function expandBraces(pattern: string): string[] {
  const match = /\{([^{}]*,[^{}]*)\}/.exec(pattern);
  if (!match) return [pattern];
  const before = pattern.slice(0, match.index);
  const after = pattern.slice(match.index + match[0].length);
  return (match[1] ?? '').split(',').flatMap((alt) => expandBraces(before + alt + after));
}

export function compileGlobs(patterns: readonly string[]): CompiledGlob[] {
  return patterns.flatMap(expandBraces).map((text) => {
    const tokens = tokenizeGlob(text);
    return {
      text,
      tokens,
      regex: globToRegExp(tokens),
      ancestors: literalAncestors(text),
      prefix: literalPrefix(tokens),
      suffix: literalSuffix(tokens),
    };
  });
}

/** An argv word pattern: `*` matches anything (including `/`), `?` one character. */
export function compileArgWord(word: string): RegExp {
  let source = '^';
  for (let i = 0; i < word.length; i++) {
    const c = word[i] as string;
    if (c === '\\' && i + 1 < word.length) source += escapeRegExp(word[++i] as string);
    else if (c === '*') source += '[\\s\\S]*';
    else if (c === '?') source += '[\\s\\S]';
    else source += escapeRegExp(c);
  }
  return new RegExp(`${source}$`, 'u');
}

function escapeRegExp(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\]/g, (m) => `\\${m}`);
}

const RECURSIVE_SUFFIX: readonly GlobToken[] = [{ t: 'lit', c: '/' }, { t: 'globstar' }];

interface Target {
  readonly value: string | null;
  readonly name?: string | undefined;
  /** A path pattern (bash glob semantics) rather than a plain string. */
  readonly isPattern: boolean;
  readonly recursive: boolean;
}

/**
 * Matches a target (path pattern, host, name) against globs: literal targets by regex, glob targets
 * by set relations. A recursive effect over a literal directory (`rm -r dist`, `grep -r x .`) only
 * matches rules that cover all of it: "somewhere below there may be a secret" does not count, or no
 * recursive work in a workspace with a .env could be allowed. A glob the command itself wrote keeps
 * the "may match" answer.
 */
function matchTarget(target: Target, globs: readonly CompiledGlob[]): MatchResult {
  if (target.value === null) return 'maybe';
  if (!target.isPattern) return globs.some((g) => g.regex.test(target.value as string)) ? 'yes' : 'no';
  if (target.name !== undefined) return matchNamedBelow(target.value, target.name, globs);
  const base = tokenizeGlob(target.value, true);
  const baseIsLiteral = !hasWildcards(base);
  if (baseIsLiteral && !target.recursive) {
    const literal = base.map((t) => (t.t === 'lit' ? t.c : '')).join('');
    return globs.some((g) => g.regex.test(literal)) ? 'yes' : 'no';
  }
  const tokens = target.recursive ? [...base, ...RECURSIVE_SUFFIX] : base;
  const prefix = literalPrefix(base);
  const suffix = target.recursive ? null : literalSuffix(base);
  // A target ending in a wildcard can end in anything: only a glob with no literal ending covers it.
  const coverSuffix = target.recursive || base.at(-1)?.t !== 'lit' ? null : suffix;
  let result: MatchResult = 'no';
  for (const glob of globs) {
    if (!compatible(glob, prefix, suffix)) continue;
    if (mayCover(glob, prefix, coverSuffix) && globSubsumes(glob.tokens, tokens)) return 'yes';
    if (result !== 'no' || baseIsLiteral) continue;
    if (!target.recursive) {
      if (globsIntersect(glob.tokens, tokens)) result = 'maybe';
    } else if (globsIntersect(glob.tokens, base) || glob.ancestors.some((a) => globsIntersect(a, base))) {
      result = 'maybe';
    }
  }
  return result;
}

/**
 * `find ROOT -name NAME`: entries at any depth below ROOT whose name matches NAME. Certain when a
 * rule covers all of ROOT's subtree or every such entry; possible when NAME could be the last part
 * of what the rule protects (a rule for any .env file), not merely because the rule protects a subtree.
 */
function matchNamedBelow(root: string, name: string, globs: readonly CompiledGlob[]): MatchResult {
  const base = tokenizeGlob(root, true);
  const all = [...base, ...RECURSIVE_SUFFIX];
  const named = [...base, { t: 'lit', c: '/' } as const, { t: 'globstar' } as const, ...tokenizeGlob(name)];
  const prefix = literalPrefix(base);
  let result: MatchResult = 'no';
  for (const glob of globs) {
    if (!compatible(glob, prefix, null)) continue;
    if (mayCover(glob, prefix, null) && (globSubsumes(glob.tokens, all) || globSubsumes(glob.tokens, named)))
      return 'yes';
    const last = glob.text.split('/').at(-1) ?? '';
    if (result === 'no' && !/^\*\*$/.test(last) && globsIntersect(glob.tokens, named)) result = 'maybe';
  }
  return result;
}

function targetOf(effect: Effect): Target | null {
  switch (effect.kind) {
    case 'read':
    case 'write':
    case 'delete':
      return {
        value: effect.path.pattern,
        isPattern: true,
        recursive: effect.path.recursive === true,
        name: effect.path.name,
      };
    case 'net':
      return { value: effect.host, isPattern: false, recursive: false };
    case 'env-change':
    case 'env-read':
      return { value: effect.name, isPattern: false, recursive: false };
    case 'state-change':
      return { value: effect.what, isPattern: false, recursive: false };
    case 'exec':
    case 'code':
    case 'hazard':
      return null;
  }
}

function matchPrefix(argv: readonly (string | null)[], prefix: readonly RegExp[]): MatchResult {
  if (argv.length < prefix.length) return 'no';
  let result: MatchResult = 'yes';
  for (let i = 0; i < prefix.length; i++) {
    const arg = argv[i];
    if (arg === null || arg === undefined) result = 'maybe';
    else if (!(prefix[i] as RegExp).test(arg)) return 'no';
  }
  return result;
}

export function matchRule(rule: CompiledRule, effect: Effect): MatchResult {
  if (rule.prefixes) {
    if (effect.kind !== 'exec') return 'no';
    let best: MatchResult = 'no';
    const candidates = [...(rule.prefixes.byProgram.get(effect.program) ?? []), ...rule.prefixes.other];
    for (const prefix of candidates) {
      const r = matchPrefix(effect.argv, prefix);
      if (r === 'yes') return 'yes';
      if (r === 'maybe') best = 'maybe';
    }
    return best;
  }
  if (!rule.kinds?.has(effect.kind)) return 'no';
  if (effect.kind === 'code') {
    if (rule.via && !rule.via.has(effect.via)) return 'no';
    if (rule.langs && !rule.langs.some((g) => g.regex.test(effect.lang))) return 'no';
    return 'yes';
  }
  const target = targetOf(effect);
  if (!target || !rule.targets) return 'yes';
  if (rule.except.length > 0 && matchTarget(target, rule.except) === 'yes') return 'no';
  return matchTarget(target, rule.targets);
}

/*
 * Security limitations
 * - A recursive effect on a literal directory inside the workspace (`grep -r x .`, `rm -rf dist`)
 *   is judged by the rules that cover the whole subtree: a secret file somewhere below (a .env in
 *   the workspace) does not make it ask. The sandbox, not this rule, keeps host secrets out of reach.
 * - Glob-versus-glob checks are sound but approximate: "covers" may answer no (then not allow) and
 *   bracket expressions at the start of a name are assumed to match a leading dot.
 */
