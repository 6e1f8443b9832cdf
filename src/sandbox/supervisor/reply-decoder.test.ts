import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  entryBytes,
  errorReply,
  exitedPayload,
  exitedReply,
  readyReply,
  reply,
  startedReply,
} from '../../../test/support/supervisor-replies.ts';
import { replyTypes } from './protocol.ts';
import type { Frame } from './protocol.ts';
import {
  FrameDecoder,
  MAX_REPLY_PAYLOAD_BYTES,
  decodeEntries,
  decodeError,
  decodeExited,
  decodeReadTotal,
} from './reply-decoder.ts';

const HEADER_BYTES = 9;
/** The most a decoder may hold between pushes: one frame short of complete. */
const MAX_BUFFERED = HEADER_BYTES + MAX_REPLY_PAYLOAD_BYTES;

/** Frames the supervisor really sends, of every type. */
const validFrame = fc.oneof(
  fc.constant(readyReply()),
  fc.integer({ min: 1, max: 1000 }).map((id) => startedReply(id)),
  fc
    .tuple(fc.constantFrom(replyTypes.stdout, replyTypes.stderr, replyTypes.data), fc.nat(1000))
    .chain(([type, id]) =>
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => reply(type, id, Buffer.from(bytes))),
    ),
  fc
    .record({ code: fc.integer({ min: 0, max: 255 }), timedOut: fc.boolean(), killed: fc.boolean() })
    .map((exit) => exitedReply(7, exit)),
  fc.constant(reply(replyTypes.ok, 3)),
  fc.string({ maxLength: 100 }).map((message) => errorReply(5, 2, message.slice(0, 120))),
);

/** Splits `bytes` at arbitrary points, as a pipe may deliver it. */
function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of points) {
    chunks.push(bytes.subarray(from, point));
    from = point;
  }
  chunks.push(bytes.subarray(from));
  return chunks;
}

const streamed = new Set<number>([replyTypes.stdout, replyTypes.stderr]);

/** Output frames joined with the parts that follow them (stdout and stderr may come in parts). */
function joinOutput(frames: readonly Frame[]): Frame[] {
  const joined: Frame[] = [];
  for (const frame of frames) {
    const last = joined.at(-1);
    if (last !== undefined && streamed.has(frame.type) && last.type === frame.type && last.id === frame.id)
      last.payload = Buffer.concat([last.payload, frame.payload]);
    else joined.push({ ...frame });
  }
  return joined;
}

describe('FrameDecoder', () => {
  it('reassembles frames split at every byte boundary, and several frames in one chunk', () => {
    const stream = Buffer.concat([
      reply(replyTypes.stdout, 7, Buffer.from('hello')),
      exitedReply(7),
      reply(replyTypes.ok, 9),
    ]);
    for (let cut = 1; cut < stream.length; cut += 1) {
      const decoder = new FrameDecoder();
      const first = decoder.push(stream.subarray(0, cut));
      const second = decoder.push(stream.subarray(cut));
      expect(first.problem ?? second.problem).toBeUndefined();
      const frames = joinOutput([...first.frames, ...second.frames]);
      expect(frames.map((frame) => [frame.type, frame.id])).toEqual([
        [replyTypes.stdout, 7],
        [replyTypes.exited, 7],
        [replyTypes.ok, 9],
      ]);
      expect(frames[0]?.payload.toString()).toBe('hello');
    }
  });

  it('passes output on in parts as it arrives: views of the chunks read, small parts copied', () => {
    // A full-size stdout frame straddling two 64 KiB reads, as a bulk copy out delivers it.
    const payload = Buffer.alloc(MAX_REPLY_PAYLOAD_BYTES, 7);
    const stream = Buffer.concat([reply(replyTypes.stdout, 4, payload), exitedReply(4)]);
    const firstRead = Buffer.from(stream.subarray(0, 65_536));
    // Its own memory (Buffer.alloc never takes from the shared pool a small copy may come from).
    const secondRead = Buffer.alloc(stream.length - 65_536);
    stream.copy(secondRead, 0, 65_536);
    const decoder = new FrameDecoder();
    const first = decoder.push(firstRead).frames;
    // Handed on before the frame is whole, as a view of the read, not a copy.
    expect(first).toHaveLength(1);
    expect(first[0]?.payload.length).toBe(65_536 - HEADER_BYTES);
    expect(first[0]?.payload.buffer).toBe(firstRead.buffer);
    const second = decoder.push(secondRead).frames;
    expect(second.map((frame) => frame.type)).toEqual([replyTypes.stdout, replyTypes.exited]);
    // The frame's last few bytes are a small part of the second read: copied, so keeping them does not
    // keep the whole read alive.
    expect(second[0]?.payload.length).toBe(HEADER_BYTES);
    expect(second[0]?.payload.buffer).not.toBe(secondRead.buffer);
    expect(Buffer.concat([first[0]!.payload, second[0]!.payload]).equals(payload)).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('decodes any sequence of valid frames, however the stream is cut', () => {
    fc.assert(
      fc.property(
        fc.array(validFrame, { minLength: 1, maxLength: 20 }),
        fc.array(fc.nat()),
        (frames, cuts) => {
          const decoder = new FrameDecoder();
          const decoded = cutAt(Buffer.concat(frames), cuts).flatMap((chunk) => {
            const result = decoder.push(chunk);
            expect(result.problem).toBeUndefined();
            return result.frames;
          });
          for (const frame of decoded)
            if (streamed.has(frame.type)) expect(frame.payload.length).toBeGreaterThan(0);
          // Each frame decoded alone, output joined with the parts after it, as a reader sees it.
          const expected = joinOutput(frames.flatMap((frame) => new FrameDecoder().push(frame).frames));
          expect(joinOutput(decoded)).toEqual(expected);
          expect(decoder.bufferedBytes).toBe(0);
        },
      ),
    );
  });

  it('never throws and never holds more than one frame on arbitrary bytes (adversarial)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 30 }), (chunks) => {
        const decoder = new FrameDecoder();
        let problem: string | undefined;
        for (const chunk of chunks) {
          const result = decoder.push(Buffer.from(chunk));
          problem ??= result.problem;
          if (problem !== undefined) expect(result.problem).toBe(problem);
          expect(decoder.bufferedBytes).toBeLessThan(MAX_BUFFERED);
        }
      }),
    );
  });

  it('reports a mutated valid stream as a problem or as frames within every bound (adversarial)', () => {
    fc.assert(
      fc.property(
        fc.array(validFrame, { minLength: 1, maxLength: 10 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (frames, mutations) => {
          const stream = Buffer.concat(frames);
          for (const [at, value] of mutations) stream[at % stream.length] = value;
          const result = new FrameDecoder().push(stream);
          for (const frame of result.frames) {
            expect(Object.values(replyTypes)).toContain(frame.type);
            expect(frame.payload.length).toBeLessThanOrEqual(MAX_REPLY_PAYLOAD_BYTES);
          }
        },
      ),
    );
  });

  it('refuses a header announcing more than a reply can hold, before reading its payload (adversarial)', () => {
    const decoder = new FrameDecoder();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32LE(0xfffffff0, 0);
    header.writeUInt8(replyTypes.data, 4);
    const result = decoder.push(header);
    expect(result.problem).toMatch(/type 69 reply of \d+ bytes/);
    expect(decoder.bufferedBytes).toBe(0);
    // Dead from then on: even a valid frame is not taken.
    expect(decoder.push(readyReply())).toEqual({ frames: [], problem: result.problem });
  });

  it('refuses unknown types, short lengths and payload sizes a type cannot have (adversarial)', () => {
    const cases = [
      reply(0x10, 1, Buffer.from('x')),
      Buffer.from([4, 0, 0, 0, replyTypes.ok, 1, 0, 0]),
      reply(replyTypes.exited, 1, Buffer.alloc(0)),
      reply(replyTypes.ready, 0, Buffer.alloc(4)),
      reply(replyTypes.stdout, 1, Buffer.alloc(0)),
      reply(replyTypes.error, 1, Buffer.alloc(600)),
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const bytes of cases) {
      const padded = Buffer.concat([bytes, Buffer.alloc(HEADER_BYTES)]);
      expect(new FrameDecoder().push(padded).problem, bytes.toString('hex')).toBeDefined();
    }
  });
});

describe('reply payloads', () => {
  it('decodes exit reports and refuses the empty payload that once crashed the control plane (adversarial)', () => {
    expect(decodeExited(exitedPayload({ signal: 9, timedOut: true }))).toEqual({
      ok: true,
      value: { exitCode: null, signalNumber: 9, timedOut: true, killed: false, keeperLost: false },
    });
    expect(decodeExited(Buffer.alloc(0))).toEqual({ ok: false, problem: 'an exit report of 0 bytes' });
  });

  it('refuses impossible exit reports (adversarial)', () => {
    const bad = [
      exitedPayload({ code: 256 }),
      exitedPayload({ code: 3, signal: 9 }),
      exitedPayload({ signal: 65 }),
      Buffer.concat([exitedPayload().subarray(0, 8), Buffer.from([2, 0, 0, 0])]),
      Buffer.concat([exitedPayload().subarray(0, 11), Buffer.from([1])]),
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const payload of bad) expect(decodeExited(payload).ok, payload.toString('hex')).toBe(false);
  });

  it('never throws on arbitrary payloads, and what it accepts is within range (adversarial)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 700 }), (bytes) => {
        const payload = Buffer.from(bytes);
        const exit = decodeExited(payload);
        if (exit.ok) {
          expect(exit.value.exitCode === null || exit.value.exitCode <= 255).toBe(true);
          expect(exit.value.signalNumber === null || exit.value.signalNumber <= 64).toBe(true);
        }
        const error = decodeError(payload);
        if (error.ok) {
          expect(error.value.errno).toBeLessThan(4096);
          expect([...error.value.message].some((char) => char < ' ' || char === '\u007f')).toBe(false);
        }
        const total = decodeReadTotal(payload);
        if (total.ok) expect(Number.isSafeInteger(total.value)).toBe(true);
        const entries = decodeEntries(payload, 10);
        if (entries.ok) {
          expect(entries.value.length).toBeLessThanOrEqual(10);
          for (const entry of entries.value) expect(entry.name).not.toMatch(/^\.\.?$|\//);
        }
      }),
    );
  });

  it('replaces control characters in error text, which could rewrite a terminal (adversarial)', () => {
    const error = decodeError(errorReply(1, 2, 'gone\u001b[2J\u0007').subarray(HEADER_BYTES));
    expect(error).toEqual({ ok: true, value: { errno: 2, message: 'gone?[2J?' } });
  });

  it('decodes directory entries and refuses names a directory cannot hold (adversarial)', () => {
    const entry = { kind: 'f', size: 42, mtimeMs: 1_700_000_000_000, name: 'notes.md' };
    expect(decodeEntries(entryBytes(entry), 10)).toEqual({
      ok: true,
      value: [{ name: 'notes.md', kind: 'file', sizeBytes: 42, modifiedMs: 1_700_000_000_000 }],
    });
    const bad = [
      entryBytes({ ...entry, name: '..' }),
      entryBytes({ ...entry, name: 'a/b' }),
      entryBytes({ ...entry, name: 'x'.repeat(256) }),
      entryBytes({ ...entry, kind: 'z' }),
      entryBytes(entry).subarray(0, 25),
      Buffer.concat([entryBytes(entry), entryBytes(entry)]),
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const payload of bad) expect(decodeEntries(payload, 1).ok, payload.toString('hex')).toBe(false);
  });
});
