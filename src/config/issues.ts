/**
 * Turns zod issues into one line per bad key, in words a person can act on: the key's path, what was
 * wrong, and for an unknown key the valid key it most likely meant.
 */
import type { z } from 'zod';
import { knownKeys } from './schema.ts';

export interface ConfigIssue {
  /** Dotted path to the bad key, like `sandbox.memory` or `policy.rules[0].decision`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML source, when the issue can be placed there. */
  readonly line?: number;
}

export interface LocatedIssue {
  readonly segments: readonly PropertyKey[];
  readonly message: string;
}

type ZodIssue = z.core.$ZodIssue;

export function flattenIssues(
  issues: readonly ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): LocatedIssue[] {
  const located: LocatedIssue[] = [];
  for (const issue of issues) {
    const segments = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      // One line per key, so every unknown key is named and can be placed on its own line of the file.
      for (const key of issue.keys) {
        located.push({ segments: [...segments, key], message: unknownKeyMessage(segments, key) });
      }
    } else if (issue.code === 'invalid_union') {
      // A branch whose only complaint is "wrong type here" was not what the author meant; if exactly one
      // branch got further, its issues are the useful ones (`network: { alow: [] }` → unknown key).
      const attempted = issue.errors.filter((branch) =>
        branch.some(
          (inner) =>
            inner.path.length > 0 || (inner.code !== 'invalid_type' && inner.code !== 'invalid_value'),
        ),
      );
      const [only] = attempted;
      if (attempted.length === 1 && only !== undefined) located.push(...flattenIssues(only, segments));
      else located.push({ segments, message: issue.message });
    } else {
      located.push({ segments, message: issue.message });
    }
  }
  return located;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatPath(segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else if (typeof segment === 'string' && IDENTIFIER.test(segment))
      path += path === '' ? segment : `.${segment}`;
    else path += `[${JSON.stringify(String(segment))}]`;
  }
  return path;
}

function keyPattern(segments: readonly PropertyKey[]): string {
  let pattern = '';
  for (const segment of segments) {
    if (typeof segment === 'number') pattern += '[]';
    else pattern += pattern === '' ? String(segment) : `.${String(segment)}`;
  }
  return pattern;
}

function unknownKeyMessage(parent: readonly PropertyKey[], key: string): string {
  const candidates = knownKeys[keyPattern(parent)] ?? [];
  const suggestion = closestKey(key, candidates);
  if (suggestion !== undefined)
    return `unknown key ${JSON.stringify(key)}; did you mean ${JSON.stringify(suggestion)}?`;
  if (candidates.length === 0) return `unknown key ${JSON.stringify(key)}`;
  return `unknown key ${JSON.stringify(key)} (valid keys: ${candidates.join(', ')})`;
}

const normalizeKey = (key: string): string => key.toLowerCase().replace(/[-_]/g, '');

/** The valid key a typo most likely meant: same letters ignoring case and `_`/`-`, or within a small edit distance. */
export function closestKey(key: string, candidates: readonly string[]): string | undefined {
  const wanted = normalizeKey(key);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, normalizeKey(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Short keys get less slack: "ab" is one edit from many things it does not mean.
  const allowed = wanted.length <= 4 ? 1 : 2;
  return bestDistance <= allowed ? best : undefined;
}

/** Optimal string alignment distance: Levenshtein plus adjacent swaps, the commonest typo (`memroy`). */
function editDistance(a: string, b: string): number {
  // Keys are short; a long unknown key is not a typo of any of them.
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return Number.POSITIVE_INFINITY;
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, at(i - 2, j - 2) + 1);
      d[i * cols + j] = value;
    }
  }
  return at(a.length, b.length);
}
