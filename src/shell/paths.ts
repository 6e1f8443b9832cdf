import { tokenizeGlob, globToRegExp } from './glob.ts';
import type { PathRef, WordValue } from './types.ts';
import { escapeGlob } from './words.ts';

/**
 * The directory later relative paths resolve against: `.` is the workspace root (the command's cwd),
 * `null` an unknown directory (after `cd "$X"`), in which case relative paths are unknown too.
 */
export type Cwd = string | null;

export const WORKSPACE: Cwd = '.';

const UNKNOWN = (text: string): PathRef => ({ pattern: null, text });

/** Could a glob segment match `.` or `..`? Then `..`-normalisation of the path is not safe. */
function segmentMayBeDots(segment: string): boolean {
  if (!/[*?[]/.test(segment.replace(/\\./g, ''))) return false;
  // A leading `.` must be matched literally (bash: dotglob off, and `.`/`..` never match `*`).
  if (!segment.startsWith('.') && !segment.startsWith('\\.')) return false;
  const re = globToRegExp(tokenizeGlob(segment));
  return re.test('..') || re.test('.');
}

/**
 * Canonicalises a word used as a path. See PathRef for the forms. `workspaceRoot` is the absolute
 * path of the directory commands start in (Airlock's sandboxes: /workspace); absolute paths under it
 * are the workspace too, so `/workspace/src` and `src` are judged alike.
 */
export function resolvePath(word: WordValue, cwd: Cwd, workspaceRoot?: string): PathRef {
  if (word.kind === 'dynamic') {
    if (word.shape !== undefined) {
      // One path of `find ROOT -name NAME`: an entry at or below ROOT (named NAME).
      const root = resolvePathPattern(escapeGlob(word.shape.root), word.text, cwd, workspaceRoot);
      if (root.pattern !== null) {
        const below: PathRef = { ...root, recursive: true };
        return word.shape.name === undefined ? below : { ...below, name: word.shape.name };
      }
    }
    // Literal parts around a run-time value still say where it points (`build/$X.o`).
    if (word.pattern !== undefined) {
      // `$D/.ssh/id_rsa` may be anywhere, but it is some `.ssh/id_rsa`: kept as that glob over
      // every canonical path, so rules for the name judge it while no place-based rule allows it.
      if (word.pattern.startsWith('**')) return { pattern: word.pattern, text: word.text };
      const ref = resolvePathPattern(word.pattern, word.text, cwd, workspaceRoot);
      if (ref.pattern !== null) return ref;
      // `~/.$n/id_rsa`: a run-time part that may be `..` hides where the path is, but its literal
      // tail still names what it is (some `id_rsa`), so rules for that name judge it.
      const tail = literalTail(word.pattern);
      if (tail !== null) return { pattern: `**/${tail}`, text: word.text };
    }
    return word.listing ? { ...UNKNOWN(word.text), listing: true } : UNKNOWN(word.text);
  }
  const ref = resolvePathPattern(word.pattern, word.value, cwd, workspaceRoot);
  if (!word.below) return ref;
  return word.belowName === undefined
    ? { ...ref, recursive: true }
    : { ...ref, recursive: true, name: word.belowName };
}

/** The segments after the last one with a run-time part, when they are plain names; else `null`. */
function literalTail(pattern: string): string | null {
  const segments = pattern.split('/');
  const last = segments.findLastIndex((segment) => segment.includes('**'));
  const tail = segments.slice(last + 1).filter((segment) => segment !== '');
  if (last < 0 || tail.length === 0) return null;
  if (tail.some((segment) => segment === '.' || segment === '..' || segmentMayBeDots(segment))) return null;
  return tail.join('/');
}

export function resolvePathPattern(pattern: string, text: string, cwd: Cwd, workspaceRoot?: string): PathRef {
  if (pattern === '') return UNKNOWN(text);
  let root: '.' | '/' | '~';
  let rest: string;
  if (pattern === '~' || pattern.startsWith('~/')) {
    root = '~';
    rest = pattern.slice(1);
  } else if (pattern.startsWith('~')) {
    return UNKNOWN(text); // ~user: another account's home
  } else if (pattern.startsWith('/')) {
    root = '/';
    rest = pattern;
  } else {
    if (cwd === null) return UNKNOWN(text);
    if (cwd !== '.') return resolvePathPattern(`${cwd}/${pattern}`, text, '.', workspaceRoot);
    root = '.';
    rest = pattern;
  }
  const segments: string[] = [];
  let up = 0;
  for (const segment of rest.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segmentMayBeDots(segment)) return UNKNOWN(text);
    if (segment === '..') {
      if (segments.length > 0) segments.pop();
      else if (root === '.') up++;
      else if (root === '~') return UNKNOWN(text);
      // `/..` is `/`.
      continue;
    }
    segments.push(segment);
  }
  const body = segments.join('/');
  let out: string;
  if (root === '/') {
    out = `/${body}`;
    // Only after `..` was resolved: /workspace/../etc is /etc, not the workspace.
    if (workspaceRoot !== undefined && (out === workspaceRoot || out.startsWith(`${workspaceRoot}/`))) {
      const inside = out.slice(workspaceRoot.length + 1);
      out = inside === '' ? '.' : `./${inside}`;
    }
  } else if (root === '~') out = body === '' ? '~' : `~/${body}`;
  else if (up > 0) out = [...Array<string>(up).fill('..'), ...segments].join('/');
  else out = body === '' ? '.' : `./${body}`;
  return { pattern: out, text };
}
