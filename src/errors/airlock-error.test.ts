import { describe, expect, it } from 'vitest';
import { AirlockError, errorCodes, httpStatusFor } from './index.ts';

describe('AirlockError codes', () => {
  const codes = Object.keys(errorCodes) as (keyof typeof errorCodes)[];

  it('has codes to check', () => {
    expect(codes.length).toBeGreaterThan(0);
  });

  it('maps every code to an HTTP status and a documentation line', () => {
    for (const code of codes) {
      expect(httpStatusFor(code), code).toBeGreaterThanOrEqual(400);
      expect(errorCodes[code].doc.length, code).toBeGreaterThan(10);
    }
  });

  it('keeps facts in fields so callers never parse messages', () => {
    const error = new AirlockError('INVALID_ARGUMENT', 'bad memory value', {
      flag: '--memory',
      value: 'lots',
    });
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.details).toEqual({ flag: '--memory', value: 'lots' });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'INVALID_ARGUMENT',
      message: 'bad memory value',
      details: { flag: '--memory', value: 'lots' },
    });
  });
});
