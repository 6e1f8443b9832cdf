import { describe, expect, it } from 'vitest';
import { pageText } from './output-page.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function readAll(text: string, limit: number): string[] {
  const pages: string[] = [];
  let offset: number | null = 0;
  while (offset !== null) {
    const page = pageText('o1', text, { stream: 'stdout', offset, limit });
    pages.push(page.text);
    expect(page.totalChars).toBe(text.length);
    offset = page.nextOffset;
    if (pages.length > text.length + 1) throw new Error('paging does not make progress');
  }
  return pages;
}

describe('pageText', () => {
  const text = 'a😀b😀😀c\u{1f469}\u200d\u{1f4bb} end 😀';

  it('reassembles text with surrogate pairs exactly at every page size, no page splitting a pair', () => {
    const limits = [1, 2, 3, 4, 5, 7, 100];
    expect(limits.length).toBeGreaterThan(0);
    for (const limit of limits) {
      const pages = readAll(text, limit);
      expect(pages.join(''), `limit ${limit}`).toBe(text);
      for (const page of pages) expect(LONE_SURROGATE.test(page), `limit ${limit}: ${page}`).toBe(false);
    }
  });

  it('moves a start inside a pair back to the pair and reports the offset it used', () => {
    const page = pageText('o1', 'a😀b', { stream: 'stdout', offset: 2, limit: 10 });
    expect(page).toMatchObject({ offset: 1, text: '😀b', nextOffset: null });
  });

  it('returns an empty last page past the end', () => {
    expect(pageText('o1', 'abc', { stream: 'stderr', offset: 10, limit: 5 })).toEqual({
      id: 'o1',
      stream: 'stderr',
      offset: 3,
      text: '',
      totalChars: 3,
      nextOffset: null,
    });
  });
});
