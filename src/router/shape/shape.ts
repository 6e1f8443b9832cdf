/**
 * Fits a command's output into what the model is shown: the head and the tail of the text around one
 * marker line that says how much was cut and how to page through it (`read_output`).
 *
 * Shape AFTER redacting, never before: a secret that straddles a cut would otherwise reach the model as
 * two fragments, neither of which the redactor can recognise. The input is therefore the redacted text,
 * the same characters the output store pages through, so the marker's offset indexes the stored copy.
 *
 * Pure: no I/O, no clock.
 */
import { AirlockError } from '../../errors/index.ts';

/** Below this, head + marker + tail leaves too little output to be worth showing. */
export const MIN_MAX_CHARS = 200;

/** Share of the budget given to the head; errors and summaries tend to be at the end, so the tail gets the rest. */
const HEAD_SHARE = 0.6;
/** A cut moves to a line boundary when one is within this share of the part's budget. */
const LINE_SNAP_SHARE = 0.1;
/** Output ids are ours (`out_…`); the bound keeps the marker's length predictable. */
const OUTPUT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export interface ShapeOptions {
  /** Most characters the model may see, marker included (`output.maxChars`). */
  readonly maxChars: number;
  /** Where the full output can be paged from; null when it was not stored. */
  readonly outputId: string | null;
  readonly stream: 'stdout' | 'stderr';
  /** Characters the store holds for paging. */
  readonly storedChars: number;
  /** Bytes the command wrote to this stream. */
  readonly totalBytes: number;
  /**
   * Bytes of the stream the store kept. When less than `totalBytes` the marker says the stored copy is
   * itself incomplete; when omitted the stored copy is taken to be the whole stream.
   */
  readonly storedBytes?: number | undefined;
}

export interface ShapeResult {
  readonly text: string;
  readonly truncated: boolean;
  /** Characters of the input left out between head and tail. */
  readonly omittedChars: number;
  /** Characters of the input kept from the start (the whole input when not truncated). */
  readonly headChars: number;
  /** Characters of the input kept from the end. */
  readonly tailChars: number;
}

export function shapeForModel(text: string, options: ShapeOptions): ShapeResult {
  validate(options);
  const { maxChars } = options;
  if (text.length <= maxChars) {
    return { text, truncated: false, omittedChars: 0, headChars: text.length, tailChars: 0 };
  }

  // The marker's length depends on the counts it states, which depend on the cut. Sizing it with the
  // largest counts possible (everything cut, offset at the end) gives an upper bound that never fails.
  const markerFor = chooseMarker(text.length, options);
  const reserved = markerFor(text.length, text.length).length + 2; // newline before and after
  const content = maxChars - reserved;
  const headBudget = Math.floor(content * HEAD_SHARE);
  const tailBudget = content - headBudget;

  let headEnd = headBudget;
  const headNewline = text.lastIndexOf('\n', headBudget - 1);
  if (headBudget > 0 && headNewline >= 0 && headNewline + 1 >= headBudget - headBudget * LINE_SNAP_SHARE) {
    headEnd = headNewline + 1;
  }
  if (headEnd > 0 && isHighSurrogate(text.charCodeAt(headEnd - 1))) headEnd -= 1;

  let tailStart = text.length - tailBudget;
  const tailNewline = text.indexOf('\n', tailStart - 1);
  if (tailNewline >= 0 && tailNewline + 1 <= tailStart + tailBudget * LINE_SNAP_SHARE) {
    tailStart = tailNewline + 1;
  }
  if (tailStart < text.length && isLowSurrogate(text.charCodeAt(tailStart))) tailStart += 1;

  const head = text.slice(0, headEnd);
  const tail = text.slice(tailStart);
  const omittedChars = tailStart - headEnd;
  const before = head === '' || head.endsWith('\n') ? '' : '\n';
  return {
    text: `${head}${before}${markerFor(omittedChars, headEnd)}\n${tail}`,
    truncated: true,
    omittedChars,
    headChars: head.length,
    tailChars: tail.length,
  };
}

type MarkerFor = (omittedChars: number, offset: number) => string;

/**
 * The full marker when it takes at most half the budget, else a terse one. The terse one is at most
 * about 160 characters (a 64-character id, numbers up to 2^53), so it always fits in MIN_MAX_CHARS.
 */
function chooseMarker(totalChars: number, options: ShapeOptions): MarkerFor {
  const { outputId, stream, totalBytes, storedBytes } = options;
  const incomplete =
    outputId !== null && storedBytes !== undefined && storedBytes < totalBytes
      ? `; only the first ${formatCount(storedBytes)} of ${formatCount(totalBytes)} bytes of ${stream} were kept, so pages end there`
      : '';
  const full: MarkerFor = (omitted, offset) =>
    `… [airlock: ${formatCount(omitted)} of ${formatCount(totalChars)} characters cut from ${stream}; ` +
    (outputId === null
      ? 'the output was not stored, so they cannot be read back'
      : `read them with read_output output_id=${outputId} offset=${offset}`) +
    `${incomplete}] …`;
  const terse: MarkerFor = (omitted, offset) =>
    `… [airlock: ${formatCount(omitted)} chars cut; ` +
    (outputId === null ? 'not stored' : `read_output output_id=${outputId} offset=${offset}`) +
    `${incomplete === '' ? '' : '; store incomplete'}] …`;
  return full(totalChars, totalChars).length + 2 <= options.maxChars / 2 ? full : terse;
}

function validate(options: ShapeOptions): void {
  const { maxChars, outputId, stream, storedChars, totalBytes, storedBytes } = options;
  if (!Number.isSafeInteger(maxChars) || maxChars < MIN_MAX_CHARS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `output maxChars must be a whole number of at least ${MIN_MAX_CHARS}, got ${String(maxChars)}`,
      { field: 'maxChars', value: maxChars, min: MIN_MAX_CHARS },
    );
  }
  if (outputId !== null && !OUTPUT_ID.test(outputId)) {
    throw new AirlockError('INVALID_ARGUMENT', 'output id must be 1 to 64 letters, digits, _ or -', {
      field: 'outputId',
    });
  }
  if (stream !== 'stdout' && stream !== 'stderr') {
    throw new AirlockError('INVALID_ARGUMENT', 'stream must be stdout or stderr', { field: 'stream' });
  }
  for (const [field, value] of [
    ['storedChars', storedChars],
    ['totalBytes', totalBytes],
    ['storedBytes', storedBytes ?? 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AirlockError('INVALID_ARGUMENT', `${field} must be a whole number of at least 0`, {
        field,
        value,
      });
    }
  }
}

/** 12345 → `12,345`, independent of the host's locale so the marker reads the same everywhere. */
function formatCount(count: number): string {
  const digits = String(count);
  let out = '';
  for (let i = 0; i < digits.length; i += 1) {
    if (i > 0 && (digits.length - i) % 3 === 0) out += ',';
    out += digits[i];
  }
  return out;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}
