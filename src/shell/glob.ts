/**
 * Glob patterns over paths and names. `*` matches within one path segment, `**` across segments, `?`
 * one character, `[…]` a class, `\x` a literal x. Both sides of a comparison may be patterns: a path
 * the shell will glob (`/e??/pass*`) is compared with a rule's glob by set relations, not by text.
 */

export type GlobToken =
  | { readonly t: 'lit'; readonly c: string }
  | { readonly t: 'any' }
  | { readonly t: 'star' }
  | { readonly t: 'globstar' }
  /** Only before a `star` at a segment start: the star matches nothing or starts with a non-dot. */
  | { readonly t: 'first' }
  | {
      readonly t: 'class';
      readonly chars: string;
      readonly ranges: readonly [string, string][];
      readonly negated: boolean;
    };

/**
 * `shell: true` reads a path pattern the way bash expands it: a `*` or `?` at the start of a segment
 * never matches a leading `.` (dotglob is off). Word resolution has already turned the shell's `**`
 * into `*`, so a `**` left in a path pattern is the analysis saying "at any depth".
 */
export function tokenizeGlob(pattern: string, shell = false): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    const segmentStart = i === 0 || pattern[i - 1] === '/';
    if (c === '\\' && i + 1 < pattern.length) {
      tokens.push({ t: 'lit', c: pattern[++i] as string });
    } else if (
      shell &&
      c === '*' &&
      pattern[i + 1] !== '*' &&
      (i === 0 || pattern[i - 1] !== '*') &&
      segmentStart
    ) {
      tokens.push({ t: 'first' }, { t: 'star' });
    } else if (shell && c === '?' && segmentStart) {
      tokens.push({ t: 'class', chars: './', ranges: [], negated: true });
    } else if (c === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        while (pattern[i + 1] === '*') i++;
        tokens.push({ t: 'globstar' });
      } else tokens.push({ t: 'star' });
    } else if (c === '?') {
      tokens.push({ t: 'any' });
    } else if (c === '[') {
      const close = findClassEnd(pattern, i);
      if (close < 0) tokens.push({ t: 'lit', c });
      else {
        tokens.push(parseClass(pattern.slice(i + 1, close)));
        i = close;
      }
    } else tokens.push({ t: 'lit', c });
  }
  return tokens;
}

function findClassEnd(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++;
  for (; i < pattern.length; i++) {
    if (pattern[i] === '\\') i++;
    else if (pattern[i] === ']') return i;
  }
  return -1;
}

function parseClass(body: string): GlobToken {
  let negated = false;
  let i = 0;
  if (body[0] === '!' || body[0] === '^') {
    negated = true;
    i = 1;
  }
  let chars = '';
  const ranges: [string, string][] = [];
  for (; i < body.length; i++) {
    let c = body[i] as string;
    if (c === '\\' && i + 1 < body.length) c = body[++i] as string;
    if (c === '[' && body[i + 1] === ':') {
      // POSIX classes ([:alpha:] …) are over-approximated as "any character".
      const end = body.indexOf(':]', i + 2);
      if (end > 0) {
        ranges.push(['\u0000', '\uffff']);
        i = end + 1;
        continue;
      }
    }
    if (body[i + 1] === '-' && i + 2 < body.length) {
      ranges.push([c, body[i + 2] as string]);
      i += 2;
    } else chars += c;
  }
  return { t: 'class', chars, ranges, negated };
}

function classHas(token: Extract<GlobToken, { t: 'class' }>, c: string): boolean {
  const inSet = token.chars.includes(c) || token.ranges.some(([a, b]) => c >= a && c <= b);
  return token.negated ? !inSet : inSet;
}

/** Whether a token can produce the character `c` (for `/`, globs never produce it from `*`, `?`, `[…]`). */
function produces(token: GlobToken, c: string): boolean {
  switch (token.t) {
    case 'lit':
      return token.c === c;
    case 'any':
    case 'star':
      return c !== '/';
    case 'globstar':
      return true;
    case 'class':
      return c !== '/' && classHas(token, c);
    case 'first':
      return c !== '/' && c !== '.';
  }
}

export function hasWildcards(tokens: readonly GlobToken[]): boolean {
  return tokens.some((t) => t.t !== 'lit');
}

export function literalOf(tokens: readonly GlobToken[]): string {
  return tokens.map((t) => (t.t === 'lit' ? t.c : '')).join('');
}

/** Compiles a pattern to an anchored regular expression for matching literal strings. */
export function globToRegExp(tokens: readonly GlobToken[]): RegExp {
  let source = '^';
  for (const token of tokens) {
    switch (token.t) {
      case 'lit':
        source += token.c.replace(/[.*+?^${}()|[\]\\]/g, (m) => `\\${m}`);
        break;
      case 'any':
        source += '[^/]';
        break;
      case 'star':
        source += '[^/]*';
        break;
      case 'globstar':
        source += '[\\s\\S]*';
        break;
      case 'first':
        // With the star after it: empty, or a first character that is not a dot.
        source += '(?=$|/|[^./])';
        break;
      case 'class': {
        const esc = (s: string) => s.replace(/[\\\]^-]/g, (m) => `\\${m}`);
        const body = esc(token.chars) + token.ranges.map(([a, b]) => `${esc(a)}-${esc(b)}`).join('');
        source += token.negated ? `(?!/)[^${body}]` : `(?!/)[${body || '\\u0000'}]`;
        break;
      }
    }
  }
  return new RegExp(`${source}$`, 'u');
}

/**
 * Most states one glob comparison may visit. Past it the comparison stops with its cautious answer
 * (the globs may intersect; one does not cover the other), so a pathological pair of patterns costs
 * a bounded amount of work and can only make a decision stricter.
 */
export const MAX_GLOB_STATES = 4096;

/** Memo of a comparison: 0 not seen, 1 in progress or false, 2 true. One byte per state pair. */
function memoFor(a: number, b: number): Uint8Array | null {
  const size = (a + 1) * (b + 1);
  return size <= MAX_GLOB_STATES ? new Uint8Array(size) : null;
}

/** Is there a string both patterns match? Sound: `false` only when no such string exists. */
export function globsIntersect(a: readonly GlobToken[], b: readonly GlobToken[]): boolean {
  const memo = memoFor(a.length, b.length);
  // Too large to compare within the bound: assume they may meet (fails closed).
  if (memo === null) return true;
  const width = b.length + 1;
  const go = (i: number, j: number): boolean => {
    const key = i * width + j;
    const cached = memo[key];
    if (cached !== 0) return cached === 2;
    memo[key] = 1;
    const result = step(i, j);
    memo[key] = result ? 2 : 1;
    return result;
  };
  const isStar = (t: GlobToken | undefined) => t !== undefined && (t.t === 'star' || t.t === 'globstar');
  const step = (i: number, j: number): boolean => {
    const ta = a[i];
    const tb = b[j];
    if (ta === undefined && tb === undefined) return true;
    // `first` is optional together with the star after it: skip both, or make one non-dot character.
    if (ta?.t === 'first' && go(i + 2, j)) return true;
    if (tb?.t === 'first' && go(i, j + 2)) return true;
    if (isStar(ta) && go(i + 1, j)) return true;
    if (isStar(tb) && go(i, j + 1)) return true;
    if (ta === undefined || tb === undefined) return false;
    // Both sides produce one character: find one both can produce.
    // Two stars consuming one shared character stay where they are: nothing new to find.
    if (isStar(ta) && isStar(tb)) return false;
    const candidates = charCandidates(ta, tb);
    for (const c of candidates) {
      if (!produces(ta, c) || !produces(tb, c)) continue;
      const ni = isStar(ta) ? i : i + 1;
      const nj = isStar(tb) ? j : j + 1;
      if (go(ni, nj)) return true;
    }
    return false;
  };
  return go(0, 0);
}

/** A few characters that stand for every class of character either token could produce. */
function charCandidates(a: GlobToken, b: GlobToken): string[] {
  const out: string[] = [];
  const add = (c: string) => {
    if (!out.includes(c)) out.push(c);
  };
  for (const token of [a, b]) {
    if (token.t === 'lit') add(token.c);
    if (token.t === 'class') {
      for (const c of token.chars) add(c);
      for (const [lo] of token.ranges) add(lo);
    }
  }
  // A character no literal or class mentions, for `?`/`*` against a negated class.
  add('\u0001');
  add('a');
  add('/');
  return out;
}

/**
 * Is every string `sub` matches also matched by `sup`? Sound but incomplete: `true` only when it is
 * certainly so (used to let an allow rule cover a glob; when unsure the answer is "no", i.e. not allow).
 */
export function globSubsumes(sup: readonly GlobToken[], sub: readonly GlobToken[]): boolean {
  const memo = memoFor(sub.length, sup.length);
  // Too large to compare within the bound: "not covered" (fails closed: an allow rule does not apply).
  if (memo === null) return false;
  const width = sup.length + 1;
  const canMakeSlash = (t: GlobToken) => t.t === 'globstar' || (t.t === 'lit' && t.c === '/');
  const go = (i: number, j: number): boolean => {
    const key = i * width + j;
    const cached = memo[key];
    if (cached !== 0) return cached === 2;
    memo[key] = 1;
    const p = sub[i];
    const r = sup[j];
    let result: boolean;
    if (p === undefined) {
      result = sup.slice(j).every((t) => t.t === 'star' || t.t === 'globstar');
    } else if (r === undefined) {
      result = false;
    } else if (r.t === 'globstar') {
      result = go(i, j + 1) || go(i + 1, j);
    } else if (r.t === 'star') {
      result = go(i, j + 1) || (!canMakeSlash(p) && go(i + 1, j));
    } else if (p.t === 'lit') {
      result = produces(r, p.c) && go(i + 1, j + 1);
    } else if (p.t === 'any') {
      result = r.t === 'any' && go(i + 1, j + 1);
    } else {
      result = false;
    }
    memo[key] = result ? 2 : 1;
    return result;
  };
  return go(0, 0);
}
