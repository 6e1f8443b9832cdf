import { describe, expect, it } from 'vitest';
import {
  MAX_REQUEST_PAYLOAD_BYTES,
  encodeExec,
  encodeFrame,
  encodeFrameParts,
  encodeWriteFile,
  encodeWriteFileHead,
  requestTypes,
} from './protocol.ts';

describe('supervisor requests', () => {
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

  it('refuses a request larger than the supervisor accepts instead of sending it', () => {
    expect(() => encodeFrame(requestTypes.writeFile, 1, Buffer.alloc(MAX_REQUEST_PAYLOAD_BYTES + 1))).toThrow(
      /exceeds/,
    );
    expect(encodeFrame(requestTypes.kill, 3).toString('hex')).toBe('050000000203000000');
    // In pieces, the limit is on their sum: no piece is over it, all of them are.
    const half = Buffer.alloc(MAX_REQUEST_PAYLOAD_BYTES / 2);
    expect(() => encodeFrameParts(requestTypes.writeFile, 1, [half, half, Buffer.alloc(1)])).toThrow(
      /exceeds/,
    );
  });

  it('sends a write in pieces as the very bytes of the write made whole', () => {
    const data = [Buffer.from('one,'), Buffer.alloc(0), Buffer.from('two')];
    const pieces = encodeFrameParts(requestTypes.writeFile, 7, [
      encodeWriteFileHead('/tmp/a.tar', 0o600, 3),
      ...data,
    ]);
    const whole = encodeFrame(
      requestTypes.writeFile,
      7,
      encodeWriteFile('/tmp/a.tar', 0o600, 3, Buffer.concat(data)),
    );
    expect(Buffer.concat(pieces).equals(whole)).toBe(true);
  });
});
