/**
 * Bounded retries of a model call: a rate limit, a server error or a lost connection is tried again
 * after an exponential, jittered delay (or the delay the server asked for), at most `maxAttempts`
 * times in all; anything else ends the run with the provider's message.
 */

export interface RetryPolicy {
  /** Tries in all, the first included. */
  readonly maxAttempts: number;
  /** The delay before the second try; each later one doubles it. */
  readonly baseDelayMs: number;
  /** No delay is longer, whatever a Retry-After header asks: the run must not sit silent for long. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_BASE_DELAY_MS = 500;
export const MAX_RETRY_DELAY_MS = 30_000;

/** How long to wait after failed attempt number `attempt` (1 = the first). */
export function retryDelayMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== null) return Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
  const exponential = policy.baseDelayMs * 2 ** (attempt - 1);
  // Half to the whole of it: clients that failed together do not all come back at the same moment.
  return Math.min(Math.round(exponential * (0.5 + random() / 2)), policy.maxDelayMs);
}

/** Waits `ms`, or less when the signal aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
