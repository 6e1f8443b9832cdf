/**
 * Turns one output stream of a running command into redacted text as it arrives, for live watchers.
 *
 * The redactor must see every secret whole, yet output arrives in chunks cut anywhere. So text is
 * released only at points no secret crosses:
 * - Whole lines. No token format spans a line break, so a batch of complete lines is redacted on its own
 *   and the unfinished last line waits. A carriage return ends a line too (progress bars redraw one line
 *   with it); no token format holds one either.
 * - Private-key blocks are the exception: the redactor hides them from BEGIN to END (or to the end of the
 *   text), so lines are held while a BEGIN is open and go out as one block once its END arrives.
 * - Configured secret values may contain line breaks (a credentials file in an env var): lines are held
 *   while the held text ends the way such a value begins (`Redactor.unfinishedSecretStart`).
 * - A line longer than `MAX_LINE_BYTES` is cut at whitespace (token formats hold none), checked: no
 *   secret value may end just before the cut, and the text on both sides must redact the same apart as
 *   together, with at least `CUT_LOOKAHEAD_BYTES` after the cut so a match crossing it is fully in view.
 *   Without such a cut the rest of the line is withheld, with a marker saying how much.
 *
 * Text released in pieces of one line (a terminal's echo, a long line's cut) is redacted with the line's
 * earlier released text in front (`CONTEXT_CHARS` of it), so a token whose name, scheme or prefix went
 * out earlier (`postgres` then `://user:pw@host`) is still recognised in what follows.
 *
 * Bytes are split only at ASCII bytes (line breaks, whitespace), which never occur inside a UTF-8
 * sequence, so a character split across chunks is decoded whole.
 */
import { findKeyMarker, KeyBlockTracker, openKeyBlockStart } from './key-blocks.ts';
import {
  completeUtf8Length,
  firstLineBreak,
  keyHeaderStart,
  lastWhitespace,
  lineStart,
  redactAfterContext,
  withheldMarker,
  type WithheldReason,
} from './live-line-text.ts';
import type { WindowStart } from './live-tail.ts';
import type { Redactor } from './redact.ts';

/** A line without a line break is cut (or withheld) once this much of it is pending. */
export const MAX_LINE_BYTES = 64 * 1024;
/**
 * Complete lines held back (an open key block, a possible multi-line secret) plus the unfinished line,
 * in bytes; past it they are withheld. A 16384-bit RSA key in PEM is about 13 KiB.
 */
export const MAX_HELD_BYTES = 64 * 1024;
/**
 * Text kept after a cut in a long line. A secret crossing whitespace is a value after its name
 * (`Authorization: Bearer …`, `aws_secret_access_key = …`, a URL password): a few hundred characters
 * from name to the value's minimum length, so with this much after the cut it is fully in view.
 */
const CUT_LOOKAHEAD_BYTES = 4096;
/**
 * Released text of the current line kept in front of its next piece when redacting it. The longest
 * prefix a token format needs before its secret is a URL's scheme and user (32 + 256 characters);
 * a secret-looking name and separator are under 100.
 */
const CONTEXT_CHARS = 512;
/** Cuts tried in one long line before it is withheld; each is at least `CUT_RETREAT_BYTES` earlier. */
const CUT_ATTEMPTS = 4;
const CUT_RETREAT_BYTES = 1024;

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const EMPTY = Buffer.alloc(0);

interface Skip {
  /** What ends it: the next line break, or the END of the key block the tracker has open. */
  until: 'newline' | 'key-end';
  reason: WithheldReason;
  bytes: number;
  readonly tracker: KeyBlockTracker;
}

export interface LiveLineStreamOptions {
  readonly redactor: Redactor;
  /** Receives redacted text in order; `marker` for Airlock's own notes about withheld bytes. */
  readonly emit: (text: string, marker: boolean) => void;
  /** When the first bytes written are a live window that may start mid-line or inside a key block. */
  readonly start?: WindowStart;
}

export class LiveLineStream {
  readonly #redactor: Redactor;
  readonly #emit: (text: string, marker: boolean) => void;
  /** Complete lines not yet released, decoded; always empty or ending in a line break. */
  #held = '';
  /** `#held`'s length in UTF-8 bytes, so it adds up with `#partialBytes`. */
  #heldBytes = 0;
  /** Where in `#held` the key block still open begins, or -1. */
  #heldKeyOpenAt = -1;
  /** `#held` before this offset has been searched for key headers/footers. */
  #heldScanned = 0;
  /** Bytes after the last line break. */
  #partial: Buffer[] = [];
  #partialBytes = 0;
  /** The unfinished line is tried for a cut again only once it is this long (so not at every byte). */
  #nextCutAt = MAX_LINE_BYTES + 1;
  #skip: Skip | null = null;
  /** The current line's released text, before redaction: at most `CONTEXT_CHARS`, no line break. */
  #context = '';
  #atLineStart = true;
  #ended = false;

  constructor(options: LiveLineStreamOptions) {
    this.#redactor = options.redactor;
    this.#emit = options.emit;
    const start = options.start;
    if (start === undefined) return;
    if (start.keyBlock.open || start.midLine) {
      this.#skip = {
        until: start.keyBlock.open ? 'key-end' : 'newline',
        reason: 'earlier',
        bytes: start.droppedBytes,
        tracker: new KeyBlockTracker(start.keyBlock),
      };
    } else if (start.droppedBytes > 0) {
      this.#marker('earlier', start.droppedBytes);
    }
  }

  write(chunk: Buffer): void {
    let rest = chunk;
    while (!this.#ended && rest.length > 0) {
      if (this.#skip !== null) {
        rest = this.#skipThrough(rest);
        continue;
      }
      const newline = Math.max(rest.lastIndexOf(LINE_FEED), rest.lastIndexOf(CARRIAGE_RETURN));
      if (newline === -1) {
        this.#partial.push(rest);
        this.#partialBytes += rest.length;
        if (this.#partial.length > 64) this.#partial = [Buffer.concat(this.#partial)];
      } else {
        const lines = Buffer.concat([...this.#partial, rest.subarray(0, newline + 1)]).toString('utf8');
        this.#held += lines;
        this.#heldBytes += Buffer.byteLength(lines);
        this.#partial = newline + 1 < rest.length ? [rest.subarray(newline + 1)] : [];
        this.#partialBytes = rest.length - newline - 1;
        this.#nextCutAt = MAX_LINE_BYTES + 1;
      }
      rest = this.#release();
    }
  }

  /**
   * For a terminal: releases the unfinished line (a prompt, the echo of a keystroke) once output has
   * paused, since a terminal shows it before any line break comes. Kept back: lines already held (a
   * key block, a possible multi-line secret), a character split across chunks, a key block's header
   * (whole or still arriving) with what follows it, and anything from where a configured secret value
   * could begin. Token formats are recognised only within what is released together, so the caller
   * waits for a pause: a program prints a token in one write, which arrives in one chunk.
   */
  releasePartial(): void {
    const line = this.#releasableLine();
    if (line === null) return;
    const { bytes, end, text } = line;
    // Invalid UTF-8 decodes to U+FFFD, so character offsets no longer map to bytes: release it whole.
    const cut = Buffer.byteLength(text) === end ? this.#redactor.unfinishedSecretStart(text) : text.length;
    this.#releaseHead(bytes, text, cut, end);
  }

  /**
   * For a terminal, after every write: releases the unfinished line at once up to where a secret could
   * still be arriving, so an echo does not wait for output to pause. Held back, besides what
   * `releasePartial` keeps: everything from a token format's hint on (`ghp_`, `://`, `authorization`:
   * the secret follows it and may be cut by a chunk boundary) and from where a configured value could
   * begin, both judged with the line's released text in front. Returns whether part of the line is
   * still held, to be given to `releasePartial` once output pauses.
   */
  releaseUnambiguous(): boolean {
    const line = this.#releasableLine();
    if (line === null) return this.#partialBytes > 0;
    const { bytes, end, text } = line;
    if (Buffer.byteLength(text) !== end) return true;
    const seen = this.#context + text;
    const secret = this.#redactor.unfinishedSecretStart(seen);
    const hint = this.#redactor.tokenHintAt(seen);
    const from = Math.min(secret, hint === -1 ? seen.length : hint) - this.#context.length;
    this.#releaseHead(bytes, text, Math.max(0, from), end);
    return this.#partialBytes > 0;
  }

  /**
   * The unfinished line when it may be released in part (nothing held before it, not withholding),
   * with the bytes before an incomplete character or a key header (whole or still arriving) decoded.
   */
  #releasableLine(): { bytes: Buffer; end: number; text: string } | null {
    if (this.#ended || this.#skip !== null || this.#held.length > 0 || this.#partialBytes === 0) return null;
    const bytes = this.#partial.length === 1 ? (this.#partial[0] as Buffer) : Buffer.concat(this.#partial);
    let end = completeUtf8Length(bytes);
    const header = keyHeaderStart(bytes);
    if (header !== -1) end = Math.min(end, header);
    return { bytes, end, text: bytes.toString('utf8', 0, end) };
  }

  /** Releases `text` (the first `end` bytes of `line`) up to character `cut`; keeps the rest pending. */
  #releaseHead(line: Buffer, text: string, cut: number, end: number): void {
    const head = text.slice(0, cut);
    const headBytes = cut === text.length ? end : Buffer.byteLength(head);
    if (headBytes === 0) return;
    this.#text(head);
    this.#partial = headBytes < line.length ? [line.subarray(headBytes)] : [];
    this.#partialBytes = line.length - headBytes;
    this.#nextCutAt = MAX_LINE_BYTES + 1;
  }

  /** Releases what is left, redacted as a whole (an open key block is hidden to the end, as always). */
  end(): void {
    if (this.#ended) return;
    if (this.#skip !== null) {
      this.#endSkip();
    } else {
      this.#text(this.#held + Buffer.concat(this.#partial).toString('utf8'));
    }
    this.#ended = true;
    this.#held = '';
    this.#heldBytes = 0;
    this.#partial = [];
  }

  /** Emits what is safe; returns bytes to feed again when it starts withholding. */
  #release(): Buffer {
    if (this.#held.length > 0) {
      const cut = this.#safeLineCut();
      if (cut > 0) {
        const released = this.#held.slice(0, cut);
        this.#text(released);
        this.#held = this.#held.slice(cut);
        this.#heldBytes -= Buffer.byteLength(released);
        if (this.#heldKeyOpenAt !== -1) this.#heldKeyOpenAt -= cut;
        this.#heldScanned = Math.max(0, this.#heldScanned - cut);
      }
    }
    if (this.#held.length > 0) {
      if (this.#heldBytes + this.#partialBytes <= MAX_HELD_BYTES) return EMPTY;
      return this.#withhold(this.#heldKeyOpenAt === -1 ? 'held' : 'key');
    }
    if (this.#partialBytes >= this.#nextCutAt) return this.#cutLongLine();
    return EMPTY;
  }

  /** The last line start in `#held` up to which text can be released. */
  #safeLineCut(): number {
    this.#scanHeldKeys();
    const held = this.#held;
    let cut = this.#heldKeyOpenAt === -1 ? held.length : lineStart(held, this.#heldKeyOpenAt);
    while (cut > 0) {
      const secret = this.#redactor.unfinishedSecretStart(held.slice(0, cut));
      if (secret >= cut) return cut;
      cut = lineStart(held, secret);
      // Holding back further may end inside a key block that closed later in the held text.
      const open = openKeyBlockStart(held.slice(0, cut));
      if (open !== -1) cut = lineStart(held, open);
    }
    return 0;
  }

  /** Follows headers and footers through the lines added to `#held` since the last scan. */
  #scanHeldKeys(): void {
    let position = this.#heldScanned;
    for (;;) {
      if (this.#heldKeyOpenAt !== -1) {
        const end = findKeyMarker('end', this.#held, position);
        if (end === null) break;
        this.#heldKeyOpenAt = -1;
        position = end.end;
      }
      const begin = findKeyMarker('begin', this.#held, position);
      if (begin === null) break;
      this.#heldKeyOpenAt = begin.start;
      position = begin.end;
    }
    // Headers and footers never span a line break, and `#held` ends with one.
    this.#heldScanned = this.#held.length;
  }

  /** A line over the limit, nothing held: release its head up to a whitespace, or withhold the rest. */
  #cutLongLine(): Buffer {
    const line = Buffer.concat(this.#partial);
    this.#partial = [line];
    const keyStart = openKeyBlockStart(line.toString('latin1'));
    let before = Math.min(line.length - CUT_LOOKAHEAD_BYTES, keyStart === -1 ? line.length : keyStart);
    for (let attempt = 0; attempt < CUT_ATTEMPTS && before > 0; attempt += 1) {
      const space = lastWhitespace(line, before - 1);
      if (space === -1) break;
      const cut = space + 1;
      const head = line.toString('utf8', 0, cut);
      if (this.#cutIsSafe(head, line.toString('utf8', cut))) {
        this.#text(head);
        this.#partial = [line.subarray(cut)];
        this.#partialBytes = line.length - cut;
        this.#nextCutAt = Math.max(MAX_LINE_BYTES + 1, this.#partialBytes + CUT_LOOKAHEAD_BYTES);
        return EMPTY;
      }
      before = space - CUT_RETREAT_BYTES;
    }
    return this.#withhold('line');
  }

  #cutIsSafe(head: string, tail: string): boolean {
    if (this.#redactor.unfinishedSecretStart(head) < head.length) return false;
    const redact = (text: string): string => this.#redactor.redact(text).text;
    return redact(head) + redact(tail) === redact(head + tail);
  }

  /** Drops what is held and the unfinished line; returns that line's bytes to skip through. */
  #withhold(reason: WithheldReason): Buffer {
    const partial = Buffer.concat(this.#partial);
    const tracker = new KeyBlockTracker({ open: this.#heldKeyOpenAt !== -1, carry: '' });
    const bytes = this.#heldBytes;
    this.#held = '';
    this.#heldBytes = 0;
    this.#heldKeyOpenAt = -1;
    this.#heldScanned = 0;
    this.#partial = [];
    this.#partialBytes = 0;
    this.#nextCutAt = MAX_LINE_BYTES + 1;
    // Held lines end at a line break: with no unfinished line and no open key there is nothing to skip.
    if (partial.length === 0 && !tracker.open) {
      this.#marker(reason, bytes);
      return EMPTY;
    }
    this.#skip = { until: tracker.open ? 'key-end' : 'newline', reason, bytes, tracker };
    return partial;
  }

  /** Consumes withheld bytes; returns those after the point where showing can resume. */
  #skipThrough(bytes: Buffer): Buffer {
    const skip = this.#skip as Skip;
    let rest = bytes;
    if (skip.until === 'newline') {
      const newline = firstLineBreak(rest);
      const line = newline === -1 ? rest : rest.subarray(0, newline + 1);
      skip.tracker.feed(line.toString('latin1'));
      skip.bytes += line.length;
      if (newline === -1) return EMPTY;
      rest = rest.subarray(newline + 1);
      if (!skip.tracker.open) {
        this.#endSkip();
        return rest;
      }
      // The withheld line opened a key block: its body follows on the next lines.
      skip.until = 'key-end';
      if (skip.reason !== 'earlier') skip.reason = 'key';
    }
    const closed = skip.tracker.feed(rest.toString('latin1'), true);
    if (closed === -1) {
      skip.bytes += rest.length;
      return EMPTY;
    }
    skip.bytes += closed;
    this.#endSkip();
    return rest.subarray(closed);
  }

  #endSkip(): void {
    const skip = this.#skip as Skip;
    this.#skip = null;
    this.#marker(skip.reason, skip.bytes);
  }

  #text(text: string): void {
    if (text === '') return;
    const redacted = redactAfterContext(this.#redactor, this.#context, text);
    const lineBreak = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
    this.#context = (lineBreak === -1 ? this.#context + text : text.slice(lineBreak + 1)).slice(
      -CONTEXT_CHARS,
    );
    if (redacted === '') return;
    this.#emit(redacted, false);
    this.#atLineStart = redacted.endsWith('\n') || redacted.endsWith('\r');
  }

  #marker(reason: WithheldReason, bytes: number): void {
    if (bytes === 0) return;
    this.#context = '';
    this.#emit(`${this.#atLineStart ? '' : '\n'}${withheldMarker(reason, bytes)}\n`, true);
    this.#atLineStart = true;
  }
}

// Security limitations:
// - Only what the redactor recognises is hidden (see redact.ts); live text is exactly as safe as the
//   redacted full output, and no safer.
// - A configured secret value longer than MAX_HELD_BYTES that spans lines, or one holding a whitespace
//   run and longer than CUT_LOOKAHEAD_BYTES inside a line longer than MAX_LINE_BYTES, is not guaranteed
//   to be seen whole.
// - A line's released text is kept as context for its next piece only up to CONTEXT_CHARS, and a
//   token whose earlier part alone matched (so was hidden) but which a later piece extends is
//   redacted in that piece on its own, without the context.
// - Text after a withheld stretch resumes mid-line (after a key block's END, or at the next line): a
//   secret whose name was withheld and whose value follows on the same line loses its context.
// - An unfinished line (a prompt without a line break) is shown only when its line ends, it grows past
//   MAX_LINE_BYTES, or the stream ends; on a terminal also at once up to a token format's hint
//   (`releaseUnambiguous`) and the rest when output pauses (`releasePartial`), so a token whose hint
//   went out more than CONTEXT_CHARS earlier on its line, or one printed a few characters at a time
//   slower than the pause, is released in pieces that do not match its
//   format (as a value printed one character per line is not recognised either).
