import type { Hazard } from './types.ts';

/**
 * Characters that make what a person sees differ from what runs: CR and ESC rewrite the terminal line,
 * bidi controls reorder text, zero-width characters hide differences. Tab and newline are ordinary.
 */
/* eslint-disable no-control-regex -- matching control characters is the point of this expression */
const CONTROL =
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
/* eslint-enable no-control-regex */

export function scanControlCharacters(source: string): Hazard[] {
  const hazards: Hazard[] = [];
  for (const match of source.matchAll(CONTROL)) {
    const code = (match[0].codePointAt(0) ?? 0).toString(16).padStart(4, '0');
    hazards.push({
      code: 'control-character',
      detail: `control character U+${code.toUpperCase()} at offset ${match.index}: the text shown may not be what runs`,
      span: { start: match.index, end: match.index + match[0].length },
      floor: 'deny',
    });
  }
  return hazards;
}

/** Escapes control and invisible characters for display to a person. */
export function escapeForDisplay(text: string): string {
  return text.replace(CONTROL, (c) => {
    const code = c.codePointAt(0) ?? 0;
    if (c === '\r') return '\\r';
    if (c === '\u001b') return '\\e';
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
