import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyStream } from './tunnel.ts';

describe('classifyStream', () => {
  it('tells TLS, HTTP/1 and anything else apart from the first bytes', () => {
    expect(classifyStream(Buffer.from([0x16, 3, 1]))).toBe('tls');
    expect(classifyStream(Buffer.from('GET / HTTP/1.1\r\n'))).toBe('http');
    expect(classifyStream(Buffer.from('POST /x HTTP/1.1\r\n'))).toBe('http');
    expect(classifyStream(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toBe('opaque');
    expect(classifyStream(Buffer.from('EHLO mail.example.test\r\n'))).toBe('opaque');
    expect(classifyStream(Buffer.from([0, 1, 2]))).toBe('opaque');
  });

  it('waits while the bytes could still begin an HTTP method', () => {
    expect(classifyStream(Buffer.alloc(0))).toBeUndefined();
    expect(classifyStream(Buffer.from('GE'))).toBeUndefined();
    expect(classifyStream(Buffer.from('PROPFIND'))).toBeUndefined();
    expect(classifyStream(Buffer.from('ABCDEFGHIJ'))).toBe('opaque');
  });

  it('decides after at most ten bytes whatever they are, so a client cannot keep it waiting (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 10, maxLength: 64 }), (bytes) => {
        expect(classifyStream(Buffer.from(bytes))).toBeDefined();
      }),
    );
  });
});
