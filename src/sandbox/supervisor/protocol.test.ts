import { describe, expect, it } from 'vitest';
import { MAX_REQUEST_PAYLOAD_BYTES, encodeExec, encodeFrame, requestTypes } from './protocol.ts';

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
  });
});
