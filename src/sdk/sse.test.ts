import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isAirlockApiError } from './errors.ts';
import { LineSplitter, MAX_LINE_CHARS } from './lines.ts';
import { MAX_EVENT_DATA_CHARS, readSseEvents, SseParser } from './sse.ts';
import type { SseEvent } from './sse.ts';

function parseAll(text: string): SseEvent[] {
  const parser = new SseParser();
  const events = parser.push(text);
  parser.end();
  return events;
}

function streamOf(chunks: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let index = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

async function collect(chunks: readonly Uint8Array[]): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  for await (const event of readSseEvents(streamOf(chunks), undefined, 'test')) events.push(event);
  return events;
}

/** Every line-end kind, a comment, a multi-line data field and characters of 2, 3 and 4 UTF-8 bytes. */
const tricky =
  '\uFEFF: keepalive\r\n' +
  'event: output\r\n' +
  'data: {"stream":"stdout","text":"café ✓"}\r\n' +
  '\r\n' +
  'event: output\n' +
  'data: line one\n' +
  'data:line two 🙂\n' +
  '\n' +
  ':comment\r' +
  'id: 7\r' +
  'event: status\r' +
  'data\r' +
  'data:  two spaces\r' +
  '\r' +
  'data: after\r\n\r\n';

const trickyEvents: SseEvent[] = [
  { event: 'output', data: '{"stream":"stdout","text":"café ✓"}', lastEventId: '' },
  { event: 'output', data: 'line one\nline two 🙂', lastEventId: '' },
  { event: 'status', data: '\n two spaces', lastEventId: '7' },
  { event: 'message', data: 'after', lastEventId: '7' },
];

describe('SseParser', () => {
  it('reads event types, joins data lines and skips comments', () => {
    expect(parseAll(': keepalive\nevent: status\ndata: {"a":1}\ndata: {"b":2}\n\n')).toEqual([
      { event: 'status', data: '{"a":1}\n{"b":2}', lastEventId: '' },
    ]);
  });

  it('strips exactly one space after the colon and treats a field without a colon as empty', () => {
    expect(parseAll('data:  x\n\ndata\n\ndata:y\n\n').map((e) => e.data)).toEqual([' x', '', 'y']);
  });

  it('defaults the type to message and resets it after each event', () => {
    expect(parseAll('event: output\ndata: 1\n\ndata: 2\n\n').map((e) => e.event)).toEqual([
      'output',
      'message',
    ]);
  });

  it('dispatches nothing for a blank line after no data, and ignores unknown fields', () => {
    expect(parseAll('event: output\n\nfoo: bar\ndata: x\n\n')).toEqual([
      { event: 'message', data: 'x', lastEventId: '' },
    ]);
  });

  it('keeps the last id, ignores an id containing NUL and reads retry', () => {
    const parser = new SseParser();
    const events = parser.push('id: a\ndata: 1\n\nid: b\0c\nretry: 1500\ndata: 2\n\nretry: soon\n');
    expect(events.map((e) => e.lastEventId)).toEqual(['a', 'a']);
    expect(parser.retryMs).toBe(1500);
  });

  it('drops an event the stream cut off before its blank line', () => {
    expect(parseAll('event: status\ndata: {"half":')).toEqual([]);
    expect(parseAll('data: whole\n\ndata: cut\n')).toEqual([
      { event: 'message', data: 'whole', lastEventId: '' },
    ]);
  });

  it('parses the tricky stream in one chunk', async () => {
    expect(await collect([new TextEncoder().encode(tricky)])).toEqual(trickyEvents);
  });

  it('gives the same events when the bytes are split in two at every position', async () => {
    const bytes = new TextEncoder().encode(tricky);
    expect(bytes.length).toBeGreaterThan(100);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const events = await collect([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(events, `cut at byte ${cut}`).toEqual(trickyEvents);
    }
  });

  it('gives the same events when every byte arrives on its own', async () => {
    const bytes = new TextEncoder().encode(tricky);
    const single = Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    expect(await collect(single)).toEqual(trickyEvents);
  });

  it('gives the same events for any chunking (property)', async () => {
    const bytes = new TextEncoder().encode(tricky);
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 30 }),
        async (cuts) => {
          const sorted = [0, ...cuts.sort((a, b) => a - b), bytes.length];
          const chunks = sorted.slice(1).map((end, i) => bytes.subarray(sorted[i], end));
          expect(await collect(chunks)).toEqual(trickyEvents);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('cancels the body when the reader stops early, so an endless stream does not stay open', async () => {
    let cancelled = false;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(new TextEncoder().encode('data: tick\n\n'));
      },
      cancel() {
        cancelled = true;
      },
    });
    let seen = 0;
    for await (const event of readSseEvents(endless, undefined, 'test')) {
      expect(event.data).toBe('tick');
      if (++seen === 3) break;
    }
    expect(cancelled).toBe(true);
  });
});

describe('LineSplitter', () => {
  it('joins a CR and an LF split across chunks, even with an empty chunk between them', () => {
    const lines = new LineSplitter();
    expect(lines.push('a\r')).toEqual(['a']);
    expect(lines.push('')).toEqual([]);
    expect(lines.push('\nb\n')).toEqual(['b']);
    expect(lines.end()).toBeUndefined();
  });

  it('treats CR LF as one line end but LF CR as two', () => {
    expect(new LineSplitter().push('a\r\nb\n\rc\r')).toEqual(['a', 'b', '', 'c']);
  });

  it('returns an unterminated last line at the end', () => {
    const lines = new LineSplitter();
    expect(lines.push('{"seq":1}\n{"seq"')).toEqual(['{"seq":1}']);
    expect(lines.push(':2}')).toEqual([]);
    expect(lines.end()).toBe('{"seq":2}');
  });
});

describe('limits on what a stream may make the client hold (adversarial)', () => {
  const MiB = 'x'.repeat(1024 * 1024);

  it('refuses a line with no line break past MAX_LINE_CHARS as INVALID_RESPONSE, naming the call', () => {
    const lines = new LineSplitter({ request: 'GET /v1/audit/export', status: 200 });
    let pushed = 0;
    let error: unknown;
    try {
      for (; pushed <= 2 * MAX_LINE_CHARS; pushed += MiB.length) lines.push(MiB);
    } catch (caught) {
      error = caught;
    }
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
    expect(error).toMatchObject({ status: 200, request: 'GET /v1/audit/export' });
    // Refused with the chunk that would cross the limit, before it was kept.
    expect(pushed).toBe(MAX_LINE_CHARS);
  });

  it('takes lines up to the limit and refuses the first character past it', () => {
    const lines = new LineSplitter({ maxLineChars: 8, request: 'GET /x' });
    expect(lines.push('12345678\nabc')).toEqual(['12345678']);
    expect(lines.push('defgh')).toEqual([]);
    let error: unknown;
    try {
      lines.push('i\n');
    } catch (caught) {
      error = caught;
    }
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
    expect(error).toMatchObject({
      request: 'GET /x',
      message: 'GET /x: a line is longer than 8 characters; the stream was closed',
    });
  });

  it('refuses an event whose data lines never end with a blank line past MAX_EVENT_DATA_CHARS', () => {
    expect(MAX_EVENT_DATA_CHARS).toBeGreaterThanOrEqual(1024 * 1024);
    const parser = new SseParser({ request: 'GET /events' });
    let error: unknown;
    let pushed = 0;
    try {
      // Each line is short; only their sum grows.
      for (; pushed <= MAX_EVENT_DATA_CHARS + MiB.length; pushed += MiB.length) parser.push(`data: ${MiB}\n`);
    } catch (caught) {
      error = caught;
    }
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
    expect((error as Error).message).toMatch(/an event's data is longer than \d+ characters/);
    expect(pushed).toBeLessThanOrEqual(MAX_EVENT_DATA_CHARS);
  });

  it('closes the body of an SSE stream that sends one endless line', async () => {
    const encoder = new TextEncoder();
    let cancelled = false;
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // Stops on its own well past the limit, so a parser without one ends instead of hanging.
        if (sent > 3 * MAX_LINE_CHARS) controller.close();
        else controller.enqueue(encoder.encode(MiB));
        sent += MiB.length;
      },
      cancel() {
        cancelled = true;
      },
    });
    const error = await (async () => {
      for await (const _event of readSseEvents(body, undefined, 'GET /events')) void _event;
    })().catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'INVALID_RESPONSE')).toBe(true);
    expect(cancelled).toBe(true);
    expect(sent).toBeLessThanOrEqual(MAX_LINE_CHARS + 3 * MiB.length);
  });
});
