/**
 * The one-pass hint search picks the same token formats as searching the text once per hint, which is
 * what decides whether a format runs at all.
 */
import { describe, expect, it } from 'vitest';
import { secretPatterns } from './secret-patterns.ts';
import { createHintFinder } from './token-hints.ts';

const patterns = secretPatterns.map((p) => ({
  kind: p.kind,
  hints: p.hints,
  caseless: p.pattern.flags.includes('i'),
}));

/** The reference: every hint searched for on its own (in the lower-cased text for a caseless format). */
function searchedOneByOne(text: string): string[] {
  const lower = text.toLowerCase();
  return patterns
    .filter(({ hints, caseless }) => hints.some((hint) => (caseless ? lower : text).includes(hint)))
    .map((p) => p.kind);
}

describe('createHintFinder', () => {
  const finder = createHintFinder(patterns);

  it('finds a hint that begins inside another one (sk- in sk-ant-) at its own place', () => {
    const kinds = finder.present('key: sk-ant-abc').map((p) => p.kind);
    expect(kinds).toContain('anthropic-key');
    expect(kinds).toContain('openai-key');
  });

  it('finds caseless hints in any case and case-sensitive ones only as written', () => {
    expect(finder.present('AUTHORIZATION: x').map((p) => p.kind)).toContain('authorization');
    expect(finder.present('EYJ akia').map((p) => p.kind)).toEqual([]);
  });

  it('picks the same formats as a search per hint, also in text full of hints (adversarial)', () => {
    const pieces = [
      ...new Set(patterns.flatMap((p) => p.hints)),
      'SECRET',
      'Session',
      'x',
      'o',
      ' ',
      '-',
      'İ',
      'K',
    ];
    const texts = ['', 'plain text with nothing in it', 'xo'.repeat(5000), `${'xox'.repeat(100)} sk-`];
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let i = 0; i < 300; i += 1)
      texts.push(Array.from({ length: 1 + (next() % 200) }, () => pieces[next() % pieces.length]).join(''));
    expect(texts.length).toBeGreaterThan(300);
    for (const text of texts)
      expect(
        finder.present(text).map((p) => p.kind),
        text.slice(0, 80),
      ).toEqual(searchedOneByOne(text));
  });
});
