import { describe, expect, it } from 'vitest';
import { parseRate } from '../../config/index.ts';
import { DEFAULT_MAX_RATE_LIMIT_KEYS, createRateLimiter, type RateLimiterOptions } from './rate-limit.ts';
import { thrownAirlockError } from '../../../test/support/airlock-errors.ts';

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let time = start;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

const perMinute30 = parseRate('30/min');

describe('createRateLimiter: a burst bigger than one window (the default, 60 at 30/min)', () => {
  const defaultRate = { ...perMinute30, burst: 60 };

  it("lets an agent's burst of 60 through at once, then one command every 2 s (a runaway loop)", () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: defaultRate, now: time.now });
    for (let i = 0; i < 60; i += 1) expect(limiter.take('s').allowed, `call ${i + 1}`).toBe(true);
    expect(limiter.take('s')).toEqual({ allowed: false, retryAfterMs: 2000 });
    // A loop calling as fast as it can gets 30 more in the next minute, not 60.
    let allowed = 0;
    for (let ms = 0; ms < 60_000; ms += 10) {
      time.advance(10);
      if (limiter.take('s').allowed) allowed += 1;
    }
    expect(allowed).toBe(30);
  });

  it('refills the whole burst after a long idle time, and no further', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: defaultRate, now: time.now });
    for (let i = 0; i < 60; i += 1) limiter.take('s');
    time.advance(60 * 60_000);
    expect(limiter.take('s')).toEqual({ allowed: true, remaining: 59 });
  });

  it('refuses a burst that is not a positive whole number', () => {
    for (const burst of [0, -1, 1.5]) {
      const error = thrownAirlockError(() =>
        createRateLimiter({ rate: { ...perMinute30, burst }, now: () => 0 }),
      );
      expect(error?.code, String(burst)).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('createRateLimiter', () => {
  it('allows 30 calls at once under 30/min, then refuses with retryAfterMs 2000', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now });
    const remaining: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const result = limiter.take('session-1');
      if (!result.allowed) throw new Error(`call ${i + 1} was refused`);
      remaining.push(result.remaining);
    }
    expect(remaining[0]).toBe(29);
    expect(remaining.at(-1)).toBe(0);
    expect(limiter.take('session-1')).toEqual({ allowed: false, retryAfterMs: 2000 });
  });

  it('refills continuously: one token 2 s later, not before; the wait shrinks as time passes', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now });
    for (let i = 0; i < 30; i += 1) limiter.take('s');
    time.advance(500);
    expect(limiter.take('s')).toEqual({ allowed: false, retryAfterMs: 1500 });
    time.advance(1499);
    expect(limiter.take('s')).toEqual({ allowed: false, retryAfterMs: 1 });
    time.advance(1);
    expect(limiter.take('s')).toEqual({ allowed: true, remaining: 0 });
    expect(limiter.take('s')).toEqual({ allowed: false, retryAfterMs: 2000 });
  });

  it('refills to capacity and no further after a long idle time', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now });
    for (let i = 0; i < 30; i += 1) limiter.take('s');
    time.advance(10 * 60_000);
    let allowed = 0;
    while (limiter.take('s').allowed) allowed += 1;
    expect(allowed).toBe(30);
  });

  it('a refused call does not use up a token', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: { tokens: 1, perMs: 1000 }, now: time.now });
    expect(limiter.take('s').allowed).toBe(true);
    for (let i = 0; i < 100; i += 1) expect(limiter.take('s').allowed).toBe(false);
    time.advance(1000);
    expect(limiter.take('s').allowed).toBe(true);
  });

  it('gives every key its own bucket', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: parseRate('2/s'), now: time.now });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b')).toEqual({ allowed: true, remaining: 1 });
  });

  it('keeps two limiters with different rates independent', () => {
    const time = clock();
    const slow = createRateLimiter({ rate: parseRate('1/min'), now: time.now });
    const fast = createRateLimiter({ rate: parseRate('100/s'), now: time.now });
    expect(slow.take('s').allowed).toBe(true);
    expect(slow.take('s')).toEqual({ allowed: false, retryAfterMs: 60_000 });
    expect(fast.take('s')).toEqual({ allowed: true, remaining: 99 });
  });

  it('rounds the wait up to whole milliseconds when a token takes a fraction of one', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: parseRate('7/min'), now: time.now });
    for (let i = 0; i < 7; i += 1) limiter.take('s');
    const refused = limiter.take('s');
    expect(refused).toEqual({ allowed: false, retryAfterMs: Math.ceil(60_000 / 7) });
    if (refused.allowed) return;
    time.advance(refused.retryAfterMs - 1);
    expect(limiter.take('s').allowed).toBe(false);
    time.advance(1);
    expect(limiter.take('s').allowed).toBe(true);
  });

  it('refills nothing and does not break when the clock goes backwards (adversarial)', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now });
    for (let i = 0; i < 30; i += 1) limiter.take('s');
    time.advance(-3_600_000);
    expect(limiter.take('s')).toEqual({ allowed: false, retryAfterMs: 2000 });
    time.advance(3_600_000 + 2000);
    expect(limiter.take('s').allowed).toBe(true);
  });

  it('drops buckets of idle keys once they have refilled, so memory follows active keys', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now });
    for (let i = 0; i < 1000; i += 1) limiter.take(`session-${i}`);
    expect(limiter.size()).toBe(1000);
    time.advance(60_000);
    limiter.take('another');
    expect(limiter.size()).toBe(1);
  });

  it('forget drops a key', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: { tokens: 1, perMs: 1000 }, now: time.now });
    limiter.take('s');
    expect(limiter.size()).toBe(1);
    limiter.forget('s');
    expect(limiter.size()).toBe(0);
    expect(limiter.take('s').allowed).toBe(true);
  });

  it('never holds more than maxKeys buckets, evicting one that still has a token', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: perMinute30, now: time.now, maxKeys: 100 });
    for (let i = 0; i < 1000; i += 1) {
      expect(limiter.take(`key-${i}`).allowed).toBe(true);
      expect(limiter.size()).toBeLessThanOrEqual(100);
    }
    expect(limiter.size()).toBe(100);
  });

  it('never resets a limited key to make room: a flood of new keys cannot free it (adversarial)', () => {
    const time = clock();
    const limiter = createRateLimiter({ rate: { tokens: 1, perMs: 60_000 }, now: time.now, maxKeys: 3 });
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key).allowed).toBe(true);
    // Every bucket is limited: a newcomer waits rather than evicting one of them.
    expect(limiter.take('d')).toEqual({ allowed: false, retryAfterMs: 60_000 });
    for (let i = 0; i < 50; i += 1) limiter.take(`flood-${i}`);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterMs: 60_000 });
    expect(limiter.size()).toBe(3);
    time.advance(60_000);
    expect(limiter.take('d').allowed).toBe(true);
  });

  it('defaults to a bound of 100,000 keys', () => {
    expect(DEFAULT_MAX_RATE_LIMIT_KEYS).toBe(100_000);
  });

  it('refuses rates and bounds that are not positive whole numbers', () => {
    const time = clock();
    const invalid: Partial<RateLimiterOptions>[] = [
      { rate: { tokens: 0, perMs: 60_000 } },
      { rate: { tokens: -1, perMs: 60_000 } },
      { rate: { tokens: 1.5, perMs: 60_000 } },
      { rate: { tokens: 30, perMs: 0 } },
      { rate: { tokens: 30, perMs: Number.NaN } },
      { rate: { tokens: Number.POSITIVE_INFINITY, perMs: 1000 } },
      { rate: { tokens: 2 ** 40, perMs: 3_600_000 } },
      { rate: perMinute30, maxKeys: 0 },
      { rate: perMinute30, maxKeys: 1.5 },
    ];
    expect(invalid.length).toBeGreaterThan(0);
    for (const overrides of invalid) {
      const error = thrownAirlockError(() =>
        createRateLimiter({ rate: perMinute30, now: time.now, ...overrides }),
      );
      expect(error.code, JSON.stringify(overrides)).toBe('INVALID_ARGUMENT');
    }
  });
});
