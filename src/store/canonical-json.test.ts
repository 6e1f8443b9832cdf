import { describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import { canonicalJson } from './canonical-json.ts';

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof AirlockError ? error.code : 'not an AirlockError';
  }
  return undefined;
}

describe('canonicalJson', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: true, y: null }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[3,{"y":null,"z":true}]},"b":1}',
    );
  });

  it('gives the same text for the same value whatever the key order', () => {
    expect(canonicalJson({ x: 1, y: 2, 10: 'a', 9: 'b' })).toBe(
      canonicalJson({ 9: 'b', y: 2, 10: 'a', x: 1 }),
    );
  });

  it('round-trips through JSON.parse to an equal value', () => {
    const value = { text: 'line\nbreak "quoted" ü😀 \u0000', n: -0.5, big: 1e21, list: [] };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('escapes a lone surrogate so the text stays valid UTF-8', () => {
    expect(canonicalJson('\ud800')).toBe('"\\ud800"');
  });

  const refused: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined member', { a: undefined }],
    ['function', () => 1],
    ['NaN', Number.NaN],
    ['Infinity', { n: Number.POSITIVE_INFINITY }],
    ['bigint', 1n],
    ['symbol', Symbol('s')],
    ['Date', new Date(0)],
    ['array hole', new Array<number>(2)],
    ['nested too deep', JSON.parse('['.repeat(100) + ']'.repeat(100))],
  ];

  it('has refused cases to check', () => {
    expect(refused.length).toBeGreaterThan(0);
  });

  it.each(refused)('refuses %s with INTERNAL instead of dropping it', (_name, value) => {
    expect(codeOf(() => canonicalJson(value))).toBe('INTERNAL');
  });
});
