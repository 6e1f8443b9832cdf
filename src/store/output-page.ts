import { AirlockError } from '../errors/index.ts';
import type { OutputPage } from './types.ts';

/** The largest page a caller may ask for, in characters: bounds what one request copies. */
export const MAX_OUTPUT_PAGE_CHARS = 1_000_000;

export interface PageRequest {
  readonly stream: 'stdout' | 'stderr';
  readonly offset: number;
  readonly limit: number;
}

/** Checks paging arguments that arrive from API callers; the error names the field. */
export function validatePageRequest(page: PageRequest): void {
  if (page.stream !== 'stdout' && page.stream !== 'stderr') {
    throw new AirlockError('INVALID_ARGUMENT', 'stream must be stdout or stderr', {
      field: 'stream',
      value: String(page.stream),
    });
  }
  if (!Number.isSafeInteger(page.offset) || page.offset < 0) {
    throw new AirlockError('INVALID_ARGUMENT', 'offset must be a non-negative integer', {
      field: 'offset',
      value: String(page.offset),
    });
  }
  // A zero limit would return an empty page whose nextOffset equals its offset: a pager loops forever.
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > MAX_OUTPUT_PAGE_CHARS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `limit must be an integer from 1 to ${MAX_OUTPUT_PAGE_CHARS}`,
      {
        field: 'limit',
        value: String(page.limit),
        max: MAX_OUTPUT_PAGE_CHARS,
      },
    );
  }
}

/**
 * One page of `text` in UTF-16 code units, never cutting a surrogate pair: an end inside a pair moves
 * back before it (or forward past it when the pair is the whole page, so every page makes progress),
 * and a start inside a pair moves back to the pair's first half, which the returned offset reports.
 */
export function pageText(
  id: string,
  text: string,
  page: PageRequest,
): Omit<OutputPage, 'sessionId' | 'commandId'> {
  const totalChars = text.length;
  let start = Math.min(page.offset, totalChars);
  if (start > 0 && start < totalChars && splitsPair(text, start)) start -= 1;
  let end = Math.min(start + page.limit, totalChars);
  if (end < totalChars && splitsPair(text, end)) {
    end = end - 1 > start ? end - 1 : end + 1;
  }
  return {
    id,
    stream: page.stream,
    offset: start,
    text: text.slice(start, end),
    totalChars,
    nextOffset: end < totalChars ? end : null,
  };
}

/** True when `index` falls between the two halves of a surrogate pair. */
function splitsPair(text: string, index: number): boolean {
  const before = text.charCodeAt(index - 1);
  const after = text.charCodeAt(index);
  return before >= 0xd800 && before <= 0xdbff && after >= 0xdc00 && after <= 0xdfff;
}
