/**
 * Which token formats could match a text, found before any format's own pattern runs. Every match of a
 * format holds one of its hints (secret-patterns.ts), so a format whose hints are nowhere in the text is
 * not run: most output, and most files of a tree copied out, hold none. One regular-expression pass
 * finds where any hint begins; only at those places is each format's hint list tried.
 */

/**
 * Places tried one by one before the text is searched once per hint instead: output full of hints
 * (`xoxoxo…`, chosen by whoever prints it) costs no more than that search, whatever its length.
 */
const MAX_HINT_PLACES = 64;

export interface HintedPattern {
  readonly hints: readonly string[];
  /** The hints are lower case and match in any ASCII case. */
  readonly caseless: boolean;
}

/**
 * An alternation of every hint, as its pattern would look for it: exactly, or in any ASCII case for a
 * caseless pattern (the only other characters lower-casing to ASCII letters, İ and the Kelvin sign,
 * cannot complete a hint). Never misses a place a hint is, so a text it finds nothing in matches no
 * format.
 */
function hintAlternation(patterns: readonly HintedPattern[]): string {
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  const anyCase = (text: string): string =>
    [...text].map((c) => (/[a-z]/i.test(c) ? `[${c.toLowerCase()}${c.toUpperCase()}]` : escape(c))).join('');
  const alternatives = new Set<string>();
  for (const { hints, caseless } of patterns)
    for (const hint of hints) alternatives.add(caseless ? anyCase(hint) : escape(hint));
  return [...alternatives].join('|');
}

export interface HintFinder<T extends HintedPattern> {
  /** Where a hint first begins in `text`, or -1. */
  first(text: string): number;
  /** The patterns, in their order, with a hint somewhere in `text`. */
  present(text: string): T[];
}

export function createHintFinder<T extends HintedPattern>(patterns: readonly T[]): HintFinder<T> {
  const alternation = hintAlternation(patterns);
  const any = new RegExp(alternation);
  // Searched again from the place after each one found, so a hint that begins inside another (`sk-`
  // in `sk-ant-`) is found at its own place.
  const starts = new RegExp(alternation, 'g');
  const hintAt = (text: string, at: number, hint: string, caseless: boolean): boolean =>
    caseless ? text.slice(at, at + hint.length).toLowerCase() === hint : text.startsWith(hint, at);
  const searchEach = (text: string): T[] => {
    const lower = text.toLowerCase();
    return patterns.filter(({ hints, caseless }) =>
      hints.some((hint) => (caseless ? lower : text).includes(hint)),
    );
  };
  return {
    first: (text) => text.search(any),
    present(text) {
      const first = text.search(any);
      if (first === -1) return [];
      const found = new Set<T>();
      starts.lastIndex = first;
      let places = 0;
      for (let match = starts.exec(text); match !== null; match = starts.exec(text)) {
        places += 1;
        if (places > MAX_HINT_PLACES) {
          starts.lastIndex = 0;
          return searchEach(text);
        }
        const at = match.index;
        for (const pattern of patterns) {
          if (found.has(pattern)) continue;
          if (pattern.hints.some((hint) => hintAt(text, at, hint, pattern.caseless))) found.add(pattern);
        }
        if (found.size === patterns.length) break;
        starts.lastIndex = at + 1;
      }
      starts.lastIndex = 0;
      return patterns.filter((pattern) => found.has(pattern));
    },
  };
}
