import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.ts';
import { redactBytes } from './redact-bytes.ts';

const ascii = 'sk-live-0123456789abcdef';
const unicode = 'pässwörd-Ünïcode-42';
const redactor = createRedactor({
  secrets: [
    { name: 'API_KEY', value: ascii },
    { name: 'PASSPHRASE', value: unicode },
  ],
});

describe('redactBytes', () => {
  it('redacts secrets in a text file, keeping the rest and a byte-order mark', () => {
    const file = Buffer.concat([
      Buffer.from([0xef, 0xbb, 0xbf]),
      Buffer.from(`key=${ascii}\nnext ✓ ${unicode}\n`),
    ]);
    const result = redactBytes(redactor, file);
    expect(result.redactions).toBe(2);
    const text = result.data.toString('utf8');
    expect(text).not.toContain(ascii);
    expect(text).not.toContain(unicode);
    expect([...result.data.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(text).toContain('next ✓ ');
  });

  it('redacts secrets, non-ASCII ones too, in a file that is not UTF-8, leaving the other bytes', () => {
    const file = Buffer.concat([
      Buffer.from([0xff, 0x00, 0xfe, 0xc3]),
      Buffer.from(`x=${unicode}`),
      Buffer.from([0x80, 0xed, 0xa0, 0x80]),
      Buffer.from(ascii),
      Buffer.from([0xf8]),
    ]);
    const result = redactBytes(redactor, file);
    expect(result.redactions).toBe(2);
    expect(result.data.includes(Buffer.from(unicode))).toBe(false);
    expect(result.data.includes(Buffer.from(ascii))).toBe(false);
    expect([...result.data.subarray(0, 4)]).toEqual([0xff, 0x00, 0xfe, 0xc3]);
    expect([...result.data.subarray(-1)]).toEqual([0xf8]);
    expect(result.data.includes(Buffer.from([0x80, 0xed, 0xa0, 0x80]))).toBe(true);
  });

  it('returns the very same buffer when there is nothing to hide', () => {
    const data = Buffer.from([0, 1, 2, 3, 0xff, 0xc0, 0xaf]);
    expect(redactBytes(redactor, data).data).toBe(data);
  });

  it('never lets a secret through, and changes no byte outside it, in any binary surrounding', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.uint8Array({ maxLength: 64 }),
        fc.constantFrom(ascii, unicode),
        (before, after, secret) => {
          // Bytes around the secret that happen to contain it are not what this property is about.
          const outside = Buffer.concat([Buffer.from(before), Buffer.from(after)]);
          fc.pre(!outside.includes(Buffer.from(secret.slice(0, 4))));
          const file = Buffer.concat([Buffer.from(before), Buffer.from(secret), Buffer.from(after)]);
          const result = redactBytes(redactor, file);
          expect(result.data.includes(Buffer.from(secret))).toBe(false);
          expect(result.data.subarray(0, before.length)).toEqual(Buffer.from(before));
          expect(result.data.subarray(result.data.length - after.length)).toEqual(Buffer.from(after));
        },
      ),
      { numRuns: 500 },
    );
  });
});
