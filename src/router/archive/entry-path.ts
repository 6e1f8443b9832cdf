export { linkStaysInside } from '../../local-tree/index.ts';
import { MAX_ENTRY_DEPTH, MAX_ENTRY_PATH_BYTES } from './limits.ts';

/**
 * An archive entry's name as a clean relative path (`src/a.ts`), or why it is refused. Names come from
 * whoever made the archive (a caller on the way in, the sandbox on the way out): an absolute name or a
 * `..` would place a file outside the tree it is meant for, so neither is ever accepted — not even a
 * `..` that would stay inside, which only a hand-made archive has.
 */
export function entryPath(name: string): { ok: true; path: string } | { ok: false; why: string } {
  if (name.includes('\0')) return { ok: false, why: 'its name holds a NUL byte' };
  if (Buffer.byteLength(name) > MAX_ENTRY_PATH_BYTES)
    return { ok: false, why: `its name is longer than ${MAX_ENTRY_PATH_BYTES} bytes` };
  if (name.startsWith('/')) return { ok: false, why: 'its name is absolute' };
  const parts = name.split('/').filter((part) => part !== '' && part !== '.');
  if (parts.includes('..')) return { ok: false, why: 'its name goes up with ..' };
  if (parts.length > MAX_ENTRY_DEPTH)
    return { ok: false, why: `it is nested deeper than ${MAX_ENTRY_DEPTH} directories` };
  return { ok: true, path: parts.join('/') };
}
