/**
 * Byte and text helpers of the live line stream (live-stream.ts): where lines, characters and key
 * headers begin and end in what has arrived so far, redacting a piece of a line after its released
 * part, and the notes that stand in for withheld bytes.
 */
import type { Redactor } from './redact.ts';

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
/** How every key block header begins (see PRIVATE_KEY_BEGIN). */
const KEY_HEADER_START = '-----BEGIN';

export type WithheldReason = 'earlier' | 'line' | 'held' | 'key';

export function withheldMarker(reason: WithheldReason, bytes: number): string {
  switch (reason) {
    case 'earlier':
      return `[… ${bytes} bytes of earlier output are not in the live window; page the full output with its outputId once the command ends]`;
    case 'line':
      return `[${bytes} bytes without a line break withheld from the live stream; page them with the outputId once the command ends]`;
    case 'held':
      return `[${bytes} bytes withheld from the live stream: they may hold a secret value that spans lines; page them with the outputId once the command ends]`;
    case 'key':
      return `[${bytes} bytes of a private key block withheld from the live stream]`;
  }
}

function commonPrefixLength(a: string, b: string): number {
  let length = 0;
  while (length < a.length && length < b.length && a[length] === b[length]) length += 1;
  return length;
}

export function lineStart(text: string, offset: number): number {
  if (offset === 0) return 0;
  return Math.max(text.lastIndexOf('\n', offset - 1), text.lastIndexOf('\r', offset - 1)) + 1;
}

/**
 * Where a key header begins or may still be arriving in an unfinished line: the first `-----BEGIN`,
 * else a tail that is the start of one (`-----`, `-----BEG`), else -1. A lone dash stays visible: a
 * header cut inside its first five dashes would need a pause in the middle of one write.
 */
export function keyHeaderStart(line: Buffer): number {
  const begin = line.indexOf(KEY_HEADER_START);
  if (begin !== -1) return begin;
  const dashes = line.lastIndexOf('-----');
  if (dashes === -1) return -1;
  return KEY_HEADER_START.startsWith(line.toString('latin1', dashes)) ? dashes : -1;
}

/** Bytes of `bytes` before an incomplete UTF-8 sequence at its end (all of them when there is none). */
export function completeUtf8Length(bytes: Buffer): number {
  // A sequence is at most 4 bytes: look back at most 3 continuation bytes for its lead byte.
  for (let back = 1; back <= Math.min(4, bytes.length); back += 1) {
    const byte = bytes[bytes.length - back] as number;
    if ((byte & 0xc0) === 0x80) continue;
    const size = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return size > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}

export function firstLineBreak(bytes: Buffer): number {
  const feed = bytes.indexOf(LINE_FEED);
  const ret = bytes.indexOf(CARRIAGE_RETURN);
  return feed === -1 ? ret : ret === -1 ? feed : Math.min(feed, ret);
}

/** The last ASCII whitespace byte at or before `from` (never inside a UTF-8 sequence), or -1. */
export function lastWhitespace(bytes: Buffer, from: number): number {
  for (let at = from; at >= 0; at -= 1) {
    const byte = bytes[at];
    if (byte === 0x20 || byte === 0x09 || byte === 0x0d || byte === 0x0b || byte === 0x0c) return at;
  }
  return -1;
}

/**
 * `text` redacted as it reads after `context`, the released text of its line before it (shown
 * already): what `context + text` redacts to, less what `context` alone did.
 */
export function redactAfterContext(redactor: Redactor, context: string, text: string): string {
  if (context === '') return redactor.redact(text).text;
  const before = redactor.redact(context);
  const whole = redactor.redact(context + text).text;
  if (whole.startsWith(before.text)) return whole.slice(before.text.length);
  // A match begins in the released text. When that text held no secret alone, it went out as it is
  // and only the part from where the two differ is new: the marker (repeating a harmless prefix such
  // as `sk`) and what follows. When it did, this text ends a token the earlier marker already hid
  // (it grew past its format's length): this text is redacted on its own.
  if (before.redactions > 0) return redactor.redact(text).text;
  return whole.slice(commonPrefixLength(whole, before.text));
}
