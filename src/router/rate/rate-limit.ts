/**
 * Token buckets per key (a session): `capacity = rate.burst` (default `rate.tokens`), refilled
 * continuously at `rate.tokens / rate.perMs`. Pure: the clock is injected, so tests move time by hand and two limiters
 * never share state.
 *
 * Levels are kept in token-milliseconds (one token = `perMs` units, refill = `tokens` units per ms), so a
 * whole-millisecond clock gives exact integer arithmetic: 30/min refuses the 31st call with
 * retryAfterMs 2000 and allows it at exactly +2000 ms, with no floating-point drift.
 */
import { AirlockError } from '../../errors/index.ts';

/** Default hard bound on keys held: about 100 bytes each, so roughly 10 MB at most. */
export const DEFAULT_MAX_RATE_LIMIT_KEYS = 100_000;

/** How many of the least recently used buckets an insertion at the bound looks at to find one to evict. */
const EVICTION_SCAN = 32;

export interface RateLimiterOptions {
  /**
   * As parsed by `parseRate`: `'30/min'` → `{ tokens: 30, perMs: 60000 }`, with `burst` the bucket's
   * size (how many may go at once; default `tokens`).
   */
  readonly rate: { readonly tokens: number; readonly perMs: number; readonly burst?: number };
  /** Milliseconds from any fixed origin (Date.now, performance.now, a test clock). */
  readonly now: () => number;
  readonly maxKeys?: number | undefined;
}

export type TakeResult =
  | { readonly allowed: true; readonly remaining: number }
  | { readonly allowed: false; readonly retryAfterMs: number };

export interface RateLimiter {
  /** Takes one token from `key`'s bucket, or says how long until one is available. */
  take(key: string): TakeResult;
  /** Drops `key`'s bucket (its session ended). */
  forget(key: string): void;
  /** Buckets currently held. */
  size(): number;
}

interface Bucket {
  /** Token-milliseconds available at `updatedAt`. */
  level: number;
  updatedAt: number;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { rate, now, maxKeys = DEFAULT_MAX_RATE_LIMIT_KEYS } = options;
  validate(rate, maxKeys);
  const { tokens, perMs } = rate;
  const capacity = (rate.burst ?? tokens) * perMs;
  const fullRefillMs = Math.ceil(capacity / tokens);
  // Map order is least recently used first: every take moves its key to the end.
  const buckets = new Map<string, Bucket>();

  const levelAt = (bucket: Bucket, at: number): number => {
    // A full refill takes fullRefillMs, so clamping keeps elapsed * tokens within safe integers; a
    // clock that went backwards refills nothing rather than draining.
    const elapsed = Math.min(Math.max(at - bucket.updatedAt, 0), fullRefillMs);
    return Math.min(capacity, bucket.level + elapsed * tokens);
  };
  const waitFor = (level: number, units: number): number => Math.ceil((units - level) / tokens);

  // A full bucket is the same as no bucket, so dropping it forgets nothing. The least recently used
  // bucket has had the longest to refill; stop at the first one that is not full yet.
  const dropFullBuckets = (at: number): void => {
    for (const [key, bucket] of buckets) {
      if (levelAt(bucket, at) < capacity) return;
      buckets.delete(key);
    }
  };

  /**
   * Makes room for a new key at the bound. Evicting a bucket hands its key a full one later, so the
   * choice is the fullest among the least recently used few, and never a bucket that is currently
   * limited (under one token): evicting it would let an agent reset its own limit by opening sessions.
   * When every candidate is limited the new key is refused until the first of them regains a token —
   * failing closed for a newcomer rather than open for a key that is being limited.
   */
  const makeRoom = (at: number): number | undefined => {
    let best: { key: string; level: number } | undefined;
    let soonest = Number.POSITIVE_INFINITY;
    let scanned = 0;
    for (const [key, bucket] of buckets) {
      if (scanned === EVICTION_SCAN) break;
      scanned += 1;
      const level = levelAt(bucket, at);
      if (level < perMs) soonest = Math.min(soonest, waitFor(level, perMs));
      else if (best === undefined || level > best.level) best = { key, level };
    }
    if (best !== undefined) {
      buckets.delete(best.key);
      return undefined;
    }
    return soonest;
  };

  return {
    take(key: string): TakeResult {
      const at = now();
      dropFullBuckets(at);
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        if (buckets.size >= maxKeys) {
          const retryAfterMs = makeRoom(at);
          if (retryAfterMs !== undefined) return { allowed: false, retryAfterMs };
        }
        bucket = { level: capacity, updatedAt: at };
      } else {
        buckets.delete(key);
        bucket.level = levelAt(bucket, at);
        bucket.updatedAt = Math.max(bucket.updatedAt, at);
      }
      buckets.set(key, bucket);
      if (bucket.level < perMs) return { allowed: false, retryAfterMs: waitFor(bucket.level, perMs) };
      bucket.level -= perMs;
      return { allowed: true, remaining: Math.floor(bucket.level / perMs) };
    },
    forget(key: string): void {
      buckets.delete(key);
    },
    size(): number {
      return buckets.size;
    },
  };
}

function validate(rate: RateLimiterOptions['rate'], maxKeys: number): void {
  const { tokens, perMs } = rate;
  const burst = rate.burst ?? tokens;
  const valid =
    Number.isSafeInteger(tokens) &&
    tokens > 0 &&
    Number.isSafeInteger(perMs) &&
    perMs > 0 &&
    Number.isSafeInteger(tokens * perMs) &&
    Number.isSafeInteger(burst) &&
    burst > 0 &&
    Number.isSafeInteger(burst * perMs);
  if (!valid) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `rate limit must be a positive whole number of tokens per positive whole number of milliseconds, like 30 per 60000 (30/min), with a positive whole burst; got ${String(tokens)} per ${String(perMs)}, burst ${String(burst)}`,
      { field: 'rate', tokens, perMs, burst },
    );
  }
  if (!Number.isSafeInteger(maxKeys) || maxKeys < 1) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `rate limiter maxKeys must be a whole number of at least 1, got ${String(maxKeys)}`,
      { field: 'maxKeys', value: maxKeys },
    );
  }
}

// Security limitations:
// - Buckets live in memory: a restart gives every session a full bucket.
// - At the key bound, a bucket that still has a token may be evicted and come back full, so an agent able
//   to create 100,000 keys quickly can regain up to `tokens` calls for a key that was not yet limited.
