import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.ts';
import { redactBytes } from './redact-bytes.ts';
import { cases, pieces } from './redact-cases.ts';

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

  it('redacts every token format inside a binary file, keeping the bytes around it', () => {
    expect(cases.length).toBeGreaterThan(0);
    const head = Buffer.from([0xff, 0xfe, 0x00, 0x89, 0x0a]);
    const tail = Buffer.from([0x0a, 0x80, 0x00, 0xc3]);
    const plain = createRedactor();
    for (const c of cases) {
      const file = Buffer.concat([head, Buffer.from(c.input), tail]);
      const result = redactBytes(plain, file);
      expect(result.redactions, c.name).toBeGreaterThan(0);
      expect(result.data.includes(Buffer.from(`[REDACTED:${c.kind}]`)), c.name).toBe(true);
      for (const piece of pieces(c.secret))
        expect(result.data.includes(Buffer.from(piece)), piece).toBe(false);
      // The same text in a text file gives the same redaction, and the bytes around it are kept; a
      // private key without its END line is hidden to the end of the file, as in text.
      const asText = redactBytes(plain, Buffer.from(c.input)).data;
      const unterminated = c.kind === 'private-key' && !c.input.includes('-----END');
      expect(result.data, c.name).toEqual(Buffer.concat([head, asText, ...(unterminated ? [] : [tail])]));
    }
  });

  it('redacts a known value in a megabyte of random binary, and leaves a clean one untouched', () => {
    // Random bytes from a fixed generator: repeatable, and almost never valid UTF-8.
    let seed = 42;
    const noise = Buffer.alloc(1024 * 1024);
    for (let index = 0; index < noise.length; index += 1) {
      seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
      noise[index] = seed >> 23;
    }
    expect(redactBytes(redactor, noise).data).toBe(noise);
    const file = Buffer.concat([noise.subarray(0, 500_000), Buffer.from(unicode), noise.subarray(500_000)]);
    const result = redactBytes(redactor, file);
    expect(result.redactions).toBe(1);
    expect(result.data.includes(Buffer.from(unicode))).toBe(false);
    expect(result.data.includes(Buffer.from('[REDACTED:env:PASSPHRASE]'))).toBe(true);
    expect(result.data.length).toBe(
      file.length - Buffer.byteLength(unicode) + '[REDACTED:env:PASSPHRASE]'.length,
    );
  });
});
