import { globToRegExp, tokenizeGlob, type Effect } from '../shell/index.ts';
import type { CompiledCapabilities } from './capabilities.ts';

function segmentsBelow(base: string, path: string): string[] | null {
  if (base === '/') return path.startsWith('/') ? path.slice(1).split('/') : null;
  if (path === base) return [];
  return path.startsWith(`${base}/`) ? path.slice(base.length + 1).split('/') : null;
}

/**
 * Does a read of `path` (a directory read recursively, or a glob) take in the secret file `secret`?
 * Both are canonical (`./x`, `~/x`, `/x`); a glob is judged with bash's rules (no dot files for `*`).
 */
function covers(effect: Extract<Effect, { kind: 'read' }>, secret: string): boolean {
  const { path } = effect;
  if (path.pattern === null) return false;
  const unescaped = path.pattern.replace(/\\(.)/g, '$1');
  if (path.recursive) {
    // Listing names below a directory (find) shows no contents.
    if (path.namesOnly) return false;
    const below = segmentsBelow(unescaped, secret);
    if (below === null) return false;
    if (path.skipsHidden && below.some((s) => s.startsWith('.'))) return false;
    if (path.name !== undefined) {
      const last = below.at(-1);
      return last !== undefined && globToRegExp(tokenizeGlob(path.name)).test(last);
    }
    return true;
  }
  if (!/(?<!\\)[*?[]/.test(path.pattern)) return false;
  return globToRegExp(tokenizeGlob(path.pattern, true)).test(secret);
}

/**
 * The secret files of the session that the reads of one command take in without naming them, as
 * reads of those files: `grep -r PASSWORD .` reads `./.env` when the session was given `./.env`.
 */
export function coveredSecrets(effects: readonly Effect[], caps: CompiledCapabilities): Effect[] {
  if (caps.secretFiles.length === 0) return [];
  const out: Effect[] = [];
  for (const effect of effects) {
    if (effect.kind !== 'read') continue;
    for (const secret of caps.secretFiles) {
      if (effect.path.pattern === secret || !covers(effect, secret)) continue;
      out.push({
        kind: 'read',
        path: { pattern: secret, text: `${secret} (inside ${effect.path.text})` },
        span: effect.span,
      });
    }
  }
  return out;
}
