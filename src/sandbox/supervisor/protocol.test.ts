import { describe, expect, it } from 'vitest';
import {
  FrameDecoder,
  decodeEntries,
  decodeExited,
  encodeExec,
  encodeFrame,
  replyTypes,
} from './protocol.ts';

describe('supervisor frames', () => {
  it('reassembles frames split at every byte boundary, and several frames in one chunk', () => {
    const frames = [
      encodeFrame(replyTypes.stdout, 7, Buffer.from('hello')),
      encodeFrame(replyTypes.exited, 7, Buffer.alloc(12)),
      encodeFrame(replyTypes.ok, 9),
    ];
    const stream = Buffer.concat(frames);
    for (let cut = 1; cut < stream.length; cut += 1) {
      const decoder = new FrameDecoder();
      const decoded = [...decoder.push(stream.subarray(0, cut)), ...decoder.push(stream.subarray(cut))];
      expect(decoded.map((frame) => [frame.type, frame.id, frame.payload.toString()])).toEqual([
        [replyTypes.stdout, 7, 'hello'],
        [replyTypes.exited, 7, '\0'.repeat(12)],
        [replyTypes.ok, 9, ''],
      ]);
    }
  });

  it('refuses a frame header announcing more than the limit instead of buffering it (adversarial)', () => {
    const decoder = new FrameDecoder(1024);
    const header = Buffer.alloc(9);
    header.writeUInt32LE(0xfffffff0, 0);
    expect(() => decoder.push(header)).toThrow(/malformed frame/);
  });

  it('refuses NUL bytes in anything that becomes a C string', () => {
    const base = {
      executable: '/bin/sh',
      argv: ['sh'],
      env: {},
      cwd: '/workspace',
      timeoutMs: 1000,
      stdin: Buffer.alloc(0),
    };
    expect(() => encodeExec({ ...base, argv: ['sh', '-c', 'a\0b'] })).toThrow(/NUL/);
    expect(() => encodeExec({ ...base, env: { A: 'x\0y' } })).toThrow(/NUL/);
    expect(() => encodeExec({ ...base, cwd: '/work\0space' })).toThrow(/NUL/);
  });

  it('decodes exit reports and directory entries', () => {
    const exit = Buffer.alloc(12);
    exit.writeInt32LE(-1, 0);
    exit.writeInt32LE(9, 4);
    exit.writeUInt8(1, 8);
    expect(decodeExited(exit)).toEqual({
      exitCode: null,
      signalNumber: 9,
      timedOut: true,
      killed: false,
      keeperLost: false,
    });

    const name = Buffer.from('notes.md');
    const entry = Buffer.alloc(19);
    entry.write('f', 0);
    entry.writeBigUInt64LE(42n, 1);
    entry.writeBigUInt64LE(1_700_000_000_000n, 9);
    entry.writeUInt16LE(name.length, 17);
    expect(decodeEntries(Buffer.concat([entry, name]))).toEqual([
      { name: 'notes.md', kind: 'file', sizeBytes: 42, modifiedMs: 1_700_000_000_000 },
    ]);
  });
});
