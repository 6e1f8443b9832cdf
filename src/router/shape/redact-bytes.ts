/**
 * Redacting a file copied out of a sandbox: the file is output too, since an agent can write a secret
 * into one and read it back. Files are bytes, not text, and must come back byte for byte except where
 * a secret was.
 */
import { isUtf8 } from 'node:buffer';
import type { Redactor } from './redact.ts';

/**
 * Invalid UTF-8 bytes become lone low surrogates (U+DC80–U+DCFF, as Python's surrogateescape does):
 * decoded text can never contain one, so they map back to exactly the bytes they stood for, while a
 * secret written in the valid text around them is still found, whatever its characters.
 */
const ESCAPE_BASE = 0xdc00;

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x80 && byte <= 0xbf;
}

/** Length of the valid UTF-8 sequence starting at `index` (RFC 3629: no overlongs, surrogates or > U+10FFFF), else 0. */
function sequenceLength(data: Buffer, index: number): number {
  const lead = data[index] as number;
  if (lead < 0x80) return 1;
  const second = data[index + 1];
  if (lead >= 0xc2 && lead <= 0xdf) return isContinuation(second) ? 2 : 0;
  if (second === undefined) return 0;
  const secondOk =
    lead === 0xe0
      ? second >= 0xa0 && second <= 0xbf
      : lead === 0xed
        ? second >= 0x80 && second <= 0x9f
        : lead === 0xf0
          ? second >= 0x90 && second <= 0xbf
          : lead === 0xf4
            ? second >= 0x80 && second <= 0x8f
            : (lead >= 0xe1 && lead <= 0xef) || (lead >= 0xf1 && lead <= 0xf3)
              ? isContinuation(second)
              : false;
  if (!secondOk) return 0;
  if (lead <= 0xef) return isContinuation(data[index + 2]) ? 3 : 0;
  return isContinuation(data[index + 2]) && isContinuation(data[index + 3]) ? 4 : 0;
}

function decodeEscaped(data: Buffer): string {
  const parts: string[] = [];
  let runStart = 0;
  let index = 0;
  while (index < data.length) {
    const length = sequenceLength(data, index);
    if (length > 0) {
      index += length;
      continue;
    }
    if (index > runStart) parts.push(data.toString('utf8', runStart, index));
    parts.push(String.fromCharCode(ESCAPE_BASE + (data[index] as number)));
    index += 1;
    runStart = index;
  }
  if (index > runStart) parts.push(data.toString('utf8', runStart, index));
  return parts.join('');
}

function encodeEscaped(text: string): Buffer {
  const parts: Buffer[] = [];
  let runStart = 0;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    if (unit < ESCAPE_BASE + 0x80 || unit > ESCAPE_BASE + 0xff) continue;
    // A low surrogate after a high one is half of a real character, not an escaped byte.
    const before = index > 0 ? text.charCodeAt(index - 1) : 0;
    if (before >= 0xd800 && before <= 0xdbff) continue;
    if (index > runStart) parts.push(Buffer.from(text.slice(runStart, index), 'utf8'));
    parts.push(Buffer.of(unit - ESCAPE_BASE));
    runStart = index + 1;
  }
  if (runStart < text.length) parts.push(Buffer.from(text.slice(runStart), 'utf8'));
  return Buffer.concat(parts);
}

/**
 * The file's bytes with every secret the redactor knows replaced, and how many places were replaced.
 * Returns the very same buffer when nothing was found, so a file without secrets is never rewritten.
 */
export function redactBytes(redactor: Redactor, data: Buffer): { data: Buffer; redactions: number } {
  const text = isUtf8(data) ? data.toString('utf8') : decodeEscaped(data);
  const result = redactor.redact(text);
  if (result.redactions === 0) return { data, redactions: 0 };
  return { data: encodeEscaped(result.text), redactions: result.redactions };
}

// Security limitations:
// - As for all output: only what the redactor recognises is hidden. A secret stored compressed,
//   encrypted, UTF-16 encoded or split across a file's structure (a zip, a database page) is not.
// - Redacting changes the file's length where a secret was; a binary file with a secret in it no longer
//   works as that format, which is the point.
