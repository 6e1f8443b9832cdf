/**
 * A Server-Sent Events parser after the WHATWG "event stream interpretation": `event:`, `data:` (lines
 * joined with "\n"), `id:`, `retry:`, `:` comments, CRLF/LF/CR line ends, a field without a colon, one
 * space stripped after the colon. An event is dispatched at a blank line; an event cut off by the end
 * of the stream is dropped, as the standard says, so a half-received event is never acted on.
 */
import { decodeBody, LineSplitter, MAX_LINE_CHARS, tooLong } from './lines.ts';
import type { LineLimits } from './lines.ts';

export interface SseEvent {
  /** `message` when the event named none. */
  readonly event: string;
  readonly data: string;
  /** The last event id seen on the stream so far ('' when none). */
  readonly lastEventId: string;
}

/**
 * An event's data (its `data:` lines joined) may be as long as one line may: without a bound, a stream
 * of `data:` lines that never sends the blank line ending the event would be buffered without end.
 * Past it the parser raises INVALID_RESPONSE.
 */
export const MAX_EVENT_DATA_CHARS = MAX_LINE_CHARS;

export class SseParser {
  readonly #limits: LineLimits;
  readonly #maxDataChars: number;
  readonly #lines: LineSplitter;
  #eventType = '';
  #data: string[] = [];
  #dataChars = 0;
  #lastEventId = '';
  #retryMs: number | undefined;

  /** `maxLineChars` bounds each line and the data of each event; `request` and `status` name the call in errors. */
  constructor(limits: LineLimits = {}) {
    this.#limits = limits;
    this.#maxDataChars = limits.maxLineChars ?? MAX_EVENT_DATA_CHARS;
    this.#lines = new LineSplitter(limits);
  }

  /** The reconnection time the server asked for with `retry:`, if it did. */
  get retryMs(): number | undefined {
    return this.#retryMs;
  }

  push(chunk: string): SseEvent[] {
    const events: SseEvent[] = [];
    for (const line of this.#lines.push(chunk)) {
      const event = this.#line(line);
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  /** The stream ended: anything not yet dispatched is dropped. */
  end(): void {
    this.#lines.end();
    this.#eventType = '';
    this.#data = [];
    this.#dataChars = 0;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.#eventType = value;
        break;
      case 'data':
        // Each line after the first adds the "\n" that joins it.
        this.#dataChars += value.length + (this.#data.length === 0 ? 0 : 1);
        if (this.#dataChars > this.#maxDataChars) {
          this.#data = [];
          this.#dataChars = 0;
          throw tooLong("an event's data", this.#maxDataChars, this.#limits);
        }
        this.#data.push(value);
        break;
      case 'id':
        // The standard ignores an id with NUL: it could not be sent back in Last-Event-ID.
        if (!value.includes('\0')) this.#lastEventId = value;
        break;
      case 'retry':
        if (/^[0-9]+$/.test(value)) this.#retryMs = Number(value);
        break;
      default:
        break;
    }
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const event = this.#eventType === '' ? 'message' : this.#eventType;
    const data = this.#data;
    this.#eventType = '';
    this.#data = [];
    this.#dataChars = 0;
    // A blank line after no data line (e.g. only `event:` or an id) dispatches nothing.
    if (data.length === 0) return undefined;
    return { event, data: data.join('\n'), lastEventId: this.#lastEventId };
  }
}

/**
 * The events of an SSE body, in order; breaking out of the loop closes the connection, and so does a
 * line or an event's data past MAX_LINE_CHARS (raised as INVALID_RESPONSE).
 */
export async function* readSseEvents(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
  request: string,
  status = 200,
): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser({ request, status });
  for await (const text of decodeBody(body, signal, request)) {
    yield* parser.push(text);
  }
  parser.end();
}
