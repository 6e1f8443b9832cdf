import { describe, expect, it } from 'vitest';
import { encodeInstructions } from './launcher-plan.ts';

describe('encodeInstructions', () => {
  it('frames argv as a length and NUL-terminated strings, refusing NUL inside one', () => {
    const encoded = encodeInstructions(['/usr/bin/bwrap', '--', 'x y']);
    expect(encoded.readUInt32LE(0)).toBe(encoded.length - 4);
    expect(encoded.subarray(4).toString()).toBe('/usr/bin/bwrap\0--\0x y\0');
    expect(() => encodeInstructions(['a\0b'])).toThrow(/NUL/);
  });
});
