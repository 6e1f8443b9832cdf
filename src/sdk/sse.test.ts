import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LineSplitter } from './lines.ts';
import { readSseEvents, SseParser } from './sse.ts';
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
