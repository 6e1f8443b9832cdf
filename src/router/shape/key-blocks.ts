/**
 * Private-key blocks in output that arrives in pieces. The redactor hides a key from its BEGIN line to
 * its END line, or to the end of the text when the END is missing ("half a key is a key"). Output seen
 * in pieces — a live window that forgets its oldest bytes, a stream shown line by line — must follow the
 * same rule, or the body lines of a key would be shown once its BEGIN line is out of sight.
 *
 * The header and footer are ASCII and never span a line break, so they are searched in a latin1 view of
 * the bytes: one character per byte, match offsets are byte offsets, and a UTF-8 sequence (whose bytes
 * are all ≥ 0x80) can neither match nor hide a marker.
 */
import { PRIVATE_KEY_BEGIN, PRIVATE_KEY_END } from './secret-patterns.ts';

/**
 * Characters kept from the end of one piece to find a header or footer split across two pieces; longer
 * than the longest match either pattern allows (`-----BEGIN` + 40 + ` PRIVATE KEY BLOCK-----`).
 */
const CARRY_CHARS = 128;

/** Where a tracker stands: inside a block or not, and the unmatched end of what it was fed. */
export interface KeyBlockState {
  readonly open: boolean;
  readonly carry: string;
}

/** Follows the redactor's BEGIN…END rule across pieces of one text, fed in order. */
export class KeyBlockTracker {
  readonly #begin = new RegExp(PRIVATE_KEY_BEGIN.source, 'g');
  readonly #end = new RegExp(PRIVATE_KEY_END.source, 'g');
  #open: boolean;
  #carry: string;

  constructor(state: KeyBlockState = { open: false, carry: '' }) {
    this.#open = state.open;
    this.#carry = state.carry;
  }

  get open(): boolean {
    return this.#open;
  }

  state(): KeyBlockState {
    return { open: this.#open, carry: this.#carry };
  }

  /**
   * Feeds the next piece (a latin1 view of its bytes). With `stopAtClose`, stops just past the first END
   * that closes a block and returns that offset in `piece`; otherwise (or when no block closes) consumes
   * all of it and returns -1.
   */
  feed(piece: string, stopAtClose = false): number {
    const text = this.#carry + piece;
    let position = 0;
    for (;;) {
      const pattern = this.#open ? this.#end : this.#begin;
      pattern.lastIndex = position;
      const found = pattern.exec(text);
      if (found === null) break;
      position = pattern.lastIndex;
      this.#open = !this.#open;
      if (!this.#open && stopAtClose) {
        // A new match always ends inside `piece`: the carry alone held none (it was searched last time).
        this.#carry = '';
        return position - (text.length - piece.length);
      }
    }
    this.#carry = text.slice(Math.max(position, text.length - CARRY_CHARS));
    return -1;
  }
}

/**
 * Compiled once. Global patterns carry `lastIndex` between uses, so `findKeyMarker` sets it before
 * every `exec` and uses nothing else: a call is synchronous from start to finish, so no other use can
 * come between.
 */
const KEY_MARKERS = {
  begin: new RegExp(PRIVATE_KEY_BEGIN.source, 'g'),
  end: new RegExp(PRIVATE_KEY_END.source, 'g'),
} as const;

/** Where the next header (`begin`) or footer (`end`) is in `text` at or after `from`, or null. */
export function findKeyMarker(
  which: 'begin' | 'end',
  text: string,
  from: number,
): { readonly start: number; readonly end: number } | null {
  const pattern = KEY_MARKERS[which];
  pattern.lastIndex = from;
  const found = pattern.exec(text);
  return found === null ? null : { start: found.index, end: pattern.lastIndex };
}

/**
 * Where the key block that is still open at the end of `text` begins, or -1 when none is: the
 * redactor's rule run over all of `text`.
 */
export function openKeyBlockStart(text: string): number {
  for (let position = 0; ; ) {
    const begin = findKeyMarker('begin', text, position);
    if (begin === null) return -1;
    const end = findKeyMarker('end', text, begin.end);
    if (end === null) return begin.start;
    position = end.end;
  }
}
