import { describe, expect, it } from 'vitest';
import {
  MAX_DURATION_MS,
  formatByteSize,
  formatDuration,
  parseByteSize,
  parseCount,
  parseCpus,
  parseDuration,
  parseRate,
} from './units.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

const KIB = 1024;
const MIB = KIB * 1024;
const GIB = MIB * 1024;

describe('parseByteSize', () => {
  const valid: [string | number, number][] = [
    ['512m', 512 * MIB],
    ['100M', 100 * MIB],
    ['1g', GIB],
    ['64k', 64 * KIB],
    ['1.5g', 1.5 * GIB],
    ['1048576', MIB],
    [1048576, MIB],
    ['256mb', 256 * MIB],
    ['256MiB', 256 * MIB],
    ['256 MiB', 256 * MIB],
    ['2T', 2 * 1024 * GIB],
    ['10b', 10],
    [' 1g ', GIB],
  ];
  const invalid: unknown[] = [
    'lots',
    '-1',
    -1,
    '0',
    0,
    '0m',
    '',
    '   ',
    '1e999',
    Number('1e999'),
    Number.NaN,
    '99999999999999999999',
    '9999999t',
    2 ** 60,
    '1.5',
    1.5,
    '256ib',
    '1p',
    '.5g',
    '+1g',
    '1 g b',
    true,
    null,
    {},
  ];

  it('accepts sizes with binary units, with or without b/ib', () => {
    expect(valid.length).toBeGreaterThan(0);
    for (const [text, bytes] of valid) expect(parseByteSize(text), String(text)).toBe(bytes);
  });

  it('refuses what is not a positive, safe, whole number of bytes', () => {
    expect(invalid.length).toBeGreaterThan(0);
    for (const value of invalid) {
      const error = thrownAirlockError(() => parseByteSize(value as string));
      expect(error.code, String(value)).toBe('INVALID_ARGUMENT');
      expect(error.details['example'], String(value)).toBe('256m');
    }
  });

  it('names the value, the problem and a valid example in the message', () => {
    const error = thrownAirlockError(() => parseByteSize('lots', { label: 'memory' }));
    expect(error.message).toBe('memory "lots" is not a size: use a number with a unit, like 256m or 1g');
    expect(error.details).toMatchObject({ label: 'memory', value: 'lots', expected: 'size' });
  });

  it('enforces bounds in the same words', () => {
    expect(thrownAirlockError(() => parseByteSize('1k', { min: MIB })).message).toContain(
      'is too small (the least is 1m)',
    );
    expect(thrownAirlockError(() => parseByteSize('2g', { max: GIB })).message).toContain(
      'is too large (the most is 1g)',
    );
  });

  it('formats back to the shortest exact spelling', () => {
    expect(formatByteSize(512 * MIB)).toBe('512m');
    expect(formatByteSize(1000)).toBe('1000');
    expect(formatByteSize(1.5 * GIB)).toBe('1536m');
  });
});

describe('parseDuration', () => {
  const valid: [string | number, number][] = [
    ['10s', 10_000],
    ['500ms', 500],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1h0m5s250ms', 3_605_250],
    ['1.5s', 1500],
    // Plain numbers are seconds, as text (a flag) and as a YAML number.
    ['10', 10_000],
    [30, 30_000],
    [0.25, 250],
  ];
  const invalid: unknown[] = [
    'soon',
    '',
    '0s',
    0,
    '-5s',
    -5,
    '10 s',
    '30s1m',
    '1m1m',
    '1d',
    '5M',
    '1e3s',
    '0.0001s',
    Number.POSITIVE_INFINITY,
    '30d',
    MAX_DURATION_MS,
    true,
  ];

  it('accepts unit-suffixed durations, largest unit first, and plain seconds', () => {
    expect(valid.length).toBeGreaterThan(0);
    for (const [text, ms] of valid) expect(parseDuration(text), String(text)).toBe(ms);
  });

  it('refuses zero, negatives, unknown units, out-of-order parts and timer-overflowing lengths', () => {
    expect(invalid.length).toBeGreaterThan(0);
    for (const value of invalid) {
      const error = thrownAirlockError(() => parseDuration(value as string));
      expect(error.code, String(value)).toBe('INVALID_ARGUMENT');
      expect(error.details['expected'], String(value)).toBe('duration');
    }
  });

  it('accepts the longest duration a Node timer can hold', () => {
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(MAX_DURATION_MS);
  });

  it('explains a failure with an example', () => {
    expect(thrownAirlockError(() => parseDuration('soon', { label: '--timeout' })).message).toBe(
      '--timeout "soon" is not a duration: use a number with a unit, like 500ms, 30s, 5m or 1h30m (a plain number is seconds)',
    );
  });

  it('formats back largest unit first', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(3_600_000)).toBe('1h');
  });
});

describe('parseCpus', () => {
  it('accepts fractional and whole CPU counts as text or numbers', () => {
    const valid: [string | number, number][] = [
      ['0.5', 0.5],
      [2, 2],
      ['2', 2],
      [0.01, 0.01],
    ];
    expect(valid.length).toBeGreaterThan(0);
    for (const [text, cpus] of valid) expect(parseCpus(text), String(text)).toBe(cpus);
  });

  it('refuses zero, negatives, values cgroups cannot express and non-numbers', () => {
    const invalid: unknown[] = [
      '0',
      0,
      '-1',
      0.001,
      'half',
      '',
      Number.NaN,
      Number.POSITIVE_INFINITY,
      5000,
      '1e3',
    ];
    expect(invalid.length).toBeGreaterThan(0);
    for (const value of invalid) {
      expect(thrownAirlockError(() => parseCpus(value as string)).code, String(value)).toBe(
        'INVALID_ARGUMENT',
      );
    }
  });
});

describe('parseCount', () => {
  it('accepts positive whole numbers', () => {
    expect(parseCount('128')).toBe(128);
    expect(parseCount(256)).toBe(256);
  });

  it('refuses fractions, zero, negatives and unsafe integers', () => {
    const invalid: unknown[] = ['1.5', 1.5, 0, '0', -3, '-3', 'many', 2 ** 60, '99999999999999999999'];
    expect(invalid.length).toBeGreaterThan(0);
    for (const value of invalid) {
      expect(thrownAirlockError(() => parseCount(value as string)).code, String(value)).toBe(
        'INVALID_ARGUMENT',
      );
    }
  });
});

describe('parseRate', () => {
  it('turns count/unit into a token bucket refill', () => {
    const valid: [string, { tokens: number; perMs: number }][] = [
      ['30/min', { tokens: 30, perMs: 60_000 }],
      ['5/s', { tokens: 5, perMs: 1000 }],
      ['100/h', { tokens: 100, perMs: 3_600_000 }],
      ['10 / second', { tokens: 10, perMs: 1000 }],
      ['2/MIN', { tokens: 2, perMs: 60_000 }],
    ];
    expect(valid.length).toBeGreaterThan(0);
    for (const [text, rate] of valid) expect(parseRate(text), text).toEqual(rate);
  });

  it('refuses rates without a unit, with zero tokens or an unknown unit', () => {
    const invalid: unknown[] = [
      '30',
      30,
      '0/min',
      '30/fortnight',
      '1.5/s',
      '-1/s',
      '/s',
      '',
      '99999999999999999999/s',
    ];
    expect(invalid.length).toBeGreaterThan(0);
    for (const value of invalid) {
      const error = thrownAirlockError(() => parseRate(value as string));
      expect(error.code, String(value)).toBe('INVALID_ARGUMENT');
      expect(error.message, String(value)).toContain('like 30/min');
    }
  });
});
