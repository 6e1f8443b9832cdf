/**
 * Streaming text: a body as decoded text chunks, and chunks as lines. Shared by the SSE parser and the
 * NDJSON export reader.
 */
import { invalidResponse } from './errors.ts';
import type { AirlockApiError } from './errors.ts';
import { transportError } from './signals.ts';

/**
 * The longest line a stream may send (an NDJSON audit event, an SSE field), in UTF-16 code units. The
 * server's lines are far shorter; a stream that goes on past this without a line break would otherwise
 * be buffered until memory runs out, so it is refused as INVALID_RESPONSE and its body cancelled.
 */
export const MAX_LINE_CHARS = 16 * 1024 * 1024;

export interface LineLimits {
  /** Default MAX_LINE_CHARS. */
  readonly maxLineChars?: number;
  /** For the error: the call whose body this is. */
  readonly request?: string;
  /** For the error: the answer's HTTP status. */
  readonly status?: number;
}

/** The error for a line or an event that outgrew its limit. */
export function tooLong(what: string, maxChars: number, limits: LineLimits): AirlockApiError {
  return invalidResponse(
    limits.request ?? 'a streamed answer',
    limits.status ?? 200,
    `${what} is longer than ${maxChars} characters; the stream was closed`,
  );
}

/**
 * Splits text into lines at CRLF, LF or CR (what SSE allows), wherever the chunks were cut. A CR at
 * the end of a chunk ends its line at once; an LF starting the next chunk is then its second half.
 * A line longer than `maxLineChars` raises INVALID_RESPONSE.
 */
export class LineSplitter {
  readonly #limits: LineLimits;
  readonly #maxLineChars: number;
  #partial = '';
  #afterCr = false;

  constructor(limits: LineLimits = {}) {
    this.#limits = limits;
    this.#maxLineChars = limits.maxLineChars ?? MAX_LINE_CHARS;
  }

  push(chunk: string): string[] {
    const lines: string[] = [];
    if (chunk === '') return lines;
    let start = 0;
    if (this.#afterCr && chunk.startsWith('\n')) start = 1;
    this.#afterCr = false;
    for (let i = start; i < chunk.length; i++) {
      const char = chunk.charCodeAt(i);
      if (char !== 0x0a && char !== 0x0d) continue;
      this.#checkLength(i - start);
      lines.push(this.#partial + chunk.slice(start, i));
      this.#partial = '';
      if (char === 0x0d) {
        if (i + 1 === chunk.length) this.#afterCr = true;
        else if (chunk.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.#checkLength(chunk.length - start);
    this.#partial += chunk.slice(start);
    return lines;
  }

  /** Checked before the text is appended, so the buffer never holds more than the limit. */
  #checkLength(addedChars: number): void {
    if (this.#partial.length + addedChars > this.#maxLineChars) {
      this.#partial = '';
      throw tooLong('a line', this.#maxLineChars, this.#limits);
    }
  }

  /** The text after the last line break (the unterminated last line), or undefined when there is none. */
  end(): string | undefined {
    const rest = this.#partial;
    this.#partial = '';
    this.#afterCr = false;
    return rest === '' ? undefined : rest;
  }
}

/**
 * A body as UTF-8 text chunks. The decoder streams, so a character cut between two network chunks
 * comes out whole. Leaving the loop early cancels the body, which closes the connection.
 */
export async function* decodeBody(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  request: string,
): AsyncGenerator<string, void, undefined> {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let done = false;
  try {
    for (;;) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (error) {
        throw transportError(error, signal, request);
      }
      if (next.done) {
        done = true;
        const tail = decoder.decode();
        if (tail !== '') yield tail;
        return;
      }
      const text = decoder.decode(next.value, { stream: true });
      if (text !== '') yield text;
    }
  } finally {
    if (!done) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
