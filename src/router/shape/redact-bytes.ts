/**
 * Redacting a file copied out of a sandbox: the file is output too, since an agent can write a secret
 * into one and read it back. Files are bytes, not text, and must come back byte for byte except where
 * a secret was.
 */
import { isUtf8 } from 'node:buffer';
import type { Redactor } from './redact.ts';

/**
 * The file's bytes with every secret the redactor knows replaced, and how many places were replaced.
 * Returns the very same buffer when nothing was found, so a file without secrets is never rewritten.
 *
 * UTF-8 text is redacted as text. Anything else is searched as `latin1` (one character a byte, so it
 * maps back to exactly the same bytes): known values are looked for as their UTF-8 bytes and token
 * formats are ASCII, so a secret written into a binary file is found wherever it sits, without
 * decoding the file character by character.
 */
export function redactBytes(redactor: Redactor, data: Buffer): { data: Buffer; redactions: number } {
  if (isUtf8(data)) {
    const result = redactor.redact(data.toString('utf8'));
    if (result.redactions === 0) return { data, redactions: 0 };
    return { data: Buffer.from(result.text, 'utf8'), redactions: result.redactions };
  }
  const result = redactor.redactLatin1(data.toString('latin1'));
  if (result.redactions === 0) return { data, redactions: 0 };
  return { data: Buffer.from(result.text, 'latin1'), redactions: result.redactions };
}

// Security limitations:
// - As for all output: only what the redactor recognises is hidden. A secret stored compressed,
//   encrypted, UTF-16 encoded or split across a file's structure (a zip, a database page) is not.
// - In a file that is not UTF-8, a token format is matched on its ASCII bytes: a byte above 0x7f next
//   to a token counts as a boundary, as any non-token character does in text.
// - Redacting changes the file's length where a secret was; a binary file with a secret in it no longer
//   works as that format, which is the point.
