/**
 * Where an effect lands, and whether compiled path and host globs cover it: `yes` for certain, `maybe`
 * for some run-time value, `no` when they cannot. The rule matching in match.ts builds on these.
 */
import {
  globsIntersect,
  globSubsumes,
  globToRegExp,
  hasWildcards,
  tokenizeGlob,
  type Effect,
  type GlobToken,
} from '../shell/index.ts';

export interface CompiledGlob {
  readonly text: string;
  readonly tokens: readonly GlobToken[];
  readonly regex: RegExp;
  /**
   * The same, ignoring case: refusals match `.VSCODE/settings.json` and `.Git/hooks` too, because on a
   * case-insensitive file system (where the workspace may be copied back) they are the same files.
   */
  readonly folded: RegExp;
  /** The literal directories leading to the glob (`~/.ssh` for `~/.ssh/**`): a bulk effect on one of them reaches it. */
  readonly ancestors: readonly (readonly GlobToken[])[];
  /** The same directories as text (`~/.ssh`, `/run/secrets`). */
  readonly ancestorTexts: readonly string[];
  /** The last path segment (`.env`, `*.pem`, `**`) and its pattern, for a cheap test before the full one. */
  readonly last: string;
  readonly lastRegex: RegExp;
  /** Literal text before the first and after the last wildcard: a cheap test that rules most pairs out. */
  readonly prefix: string;
  readonly suffix: string;
}

function literalOf(tokens: readonly GlobToken[]): string {
  return tokens.map((t) => (t.t === 'lit' ? t.c : '')).join('');
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

function literalAncestorTexts(text: string): string[] {
  const segments = text.split('/');
  const out: string[] = [];
  for (let n = 2; n < segments.length; n++) {
    const prefix = segments.slice(0, n);
    if (prefix.some((seg) => /[*?[{]/.test(seg))) break;
    const dir = prefix.join('/');
    if (dir === '' || dir === '~' || dir === '.') continue;
    out.push(dir);
  }
  return out;
}

const WILD = /(?<!\\)[*?[]/;

/**
 * Could a glob whose last segment is `last` name the same entry as a target whose last segment is
 * `name`? `false` only when it certainly cannot (both literal and different, or one literal the
 * other's pattern rejects): the full glob algebra is then skipped.
 */
function lastSegmentsMeet(glob: CompiledGlob, name: string, nameRegex: () => RegExp): boolean {
  if (glob.last === '**' || name === '' || glob.last === '') return true;
  const globWild = WILD.test(glob.last);
  const nameWild = WILD.test(name);
  if (!globWild) return nameWild ? nameRegex().test(glob.last) : glob.last === name.replace(/\\(.)/g, '$1');
  if (!nameWild) return glob.lastRegex.test(name.replace(/\\(.)/g, '$1'));
  return true;
}

/** Is `dir` at or below the literal directory `base` (both canonical)? */
function isBelow(dir: string, base: string): boolean {
  if (base === '/') return dir.startsWith('/');
  return dir === base || dir.startsWith(`${base}/`);
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
      folded: new RegExp(globToRegExp(tokens).source, 'iu'),
      ancestors: literalAncestors(text),
      ancestorTexts: literalAncestorTexts(text),
      last: text.split('/').at(-1) ?? '',
      lastRegex: globToRegExp(tokenizeGlob(text.split('/').at(-1) ?? '')),
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

export interface Target {
  readonly value: string | null;
  readonly name?: string | undefined;
  /** A path pattern (bash glob semantics) rather than a plain string. */
  readonly isPattern: boolean;
  readonly recursive: boolean;
  /** Only names are listed below it (`find ROOT`), no contents. */
  readonly namesOnly?: boolean | undefined;
  /** The value tokenised as a bash path glob, computed once per effect rather than once per rule. */
  tokens?: readonly GlobToken[];
  /** Whether the path lies in a writable directory of the session, computed once per effect. */
  writable?: boolean;
  /**
   * A recursive effect that certainly takes in everything below (a read or a delete), unlike a
   * recursive write (`tar x`), which only writes what the archive holds.
   */
  readonly reaches?: boolean;
}

/**
 * Matches a target (path pattern, host, name) against globs: literal targets by regex, glob targets
 * by set relations. A recursive effect over a literal directory (`rm -r dist`, `grep -r x .`) only
 * matches rules that cover all of it: "somewhere below there may be a secret" does not count, or no
 * recursive work in a workspace with a .env could be allowed. A glob the command itself wrote keeps
 * the "may match" answer.
 */
export function matchTarget(target: Target, globs: readonly CompiledGlob[], fold = false): MatchResult {
  if (target.value === null) return 'maybe';
  const test = (g: CompiledGlob, text: string) => (fold ? g.folded : g.regex).test(text);
  if (!target.isPattern) return globs.some((g) => test(g, target.value as string)) ? 'yes' : 'no';
  if (target.name !== undefined) return matchNamedBelow(target.value, target.name, globs);
  target.tokens ??= tokenizeGlob(target.value, true);
  const base = target.tokens;
  const baseIsLiteral = !hasWildcards(base);
  if (baseIsLiteral && !target.recursive) {
    const literal = base.map((t) => (t.t === 'lit' ? t.c : '')).join('');
    return globs.some((g) => test(g, literal)) ? 'yes' : 'no';
  }
  if (fold && target.recursive && baseIsLiteral && !target.namesOnly && target.reaches) {
    // A refusal for a fixed location below this directory (`/run/secrets`, `~/.ssh`): a recursive
    // read or delete of the directory reaches it (`grep -r password /`, `rm -rf ~`).
    const literal = literalOf(base);
    if (globs.some((g) => g.ancestorTexts.some((a) => isBelow(a, literal)))) return 'yes';
  }
  const tokens = target.recursive ? [...base, ...RECURSIVE_SUFFIX] : base;
  // The literal prefix of everything the target covers: `.` recursive is `./…`, so a rule for `./**` can cover it.
  const prefix = literalPrefix(tokens);
  const suffix = target.recursive ? null : literalSuffix(base);
  // A target ending in a wildcard can end in anything: only a glob with no literal ending covers it.
  const coverSuffix = target.recursive || base.at(-1)?.t !== 'lit' ? null : suffix;
  let result: MatchResult = 'no';
  const targetLast = target.recursive ? '' : (target.value.split('/').at(-1) ?? '');
  let lastRegex: RegExp | undefined;
  const nameRegex = () => (lastRegex ??= globToRegExp(tokenizeGlob(targetLast, true)));
  for (const glob of globs) {
    if (!compatible(glob, prefix, suffix)) continue;
    if (!target.recursive && !lastSegmentsMeet(glob, targetLast, nameRegex)) continue;
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
  const slash = { t: 'lit', c: '/' } as const;
  const nameTokens = tokenizeGlob(name);
  // An entry named NAME right below the root, or deeper: ROOT/NAME and ROOT/**/NAME. (The name is a
  // whole path segment: `ROOT/**NAME` would also take in `ROOT/a.NAME`.)
  const shallow = [...base, slash, ...nameTokens];
  const deep = [...base, slash, { t: 'globstar' } as const, slash, ...nameTokens];
  const prefix = literalPrefix(base);
  // Every such entry ends in NAME's literal ending (`.env`, `.pem` of `*.pem`): a glob can only
  // cover them all when its own literal ending is part of it.
  const nameSuffix = !hasWildcards(nameTokens)
    ? `/${literalOf(nameTokens)}`
    : nameTokens.at(-1)?.t === 'lit'
      ? literalSuffix(nameTokens)
      : null;
  let result: MatchResult = 'no';
  let regex: RegExp | undefined;
  const nameRegex = () => (regex ??= globToRegExp(nameTokens));
  for (const glob of globs) {
    if (!compatible(glob, prefix, null)) continue;
    // Only a glob ending in `**` can cover every entry below; others must be able to name NAME.
    if (!lastSegmentsMeet(glob, name, nameRegex)) continue;
    if (
      (mayCover(glob, prefix, null) || mayCover(glob, prefix, nameSuffix)) &&
      (globSubsumes(glob.tokens, all) ||
        (globSubsumes(glob.tokens, shallow) && globSubsumes(glob.tokens, deep)))
    )
      return 'yes';
    const last = glob.text.split('/').at(-1) ?? '';
    if (
      result === 'no' &&
      !/^\*\*$/.test(last) &&
      (globsIntersect(glob.tokens, shallow) || globsIntersect(glob.tokens, deep))
    )
      result = 'maybe';
  }
  return result;
}

export function targetOf(effect: Effect): Target | null {
  switch (effect.kind) {
    case 'read':
    case 'write':
    case 'delete':
      return {
        value: effect.path.pattern,
        isPattern: true,
        recursive: effect.path.recursive === true,
        name: effect.path.name,
        namesOnly: effect.path.namesOnly,
        reaches: effect.kind !== 'write',
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
