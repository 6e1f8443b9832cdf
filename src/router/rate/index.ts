/** The rate stage: a token bucket per session, so a runaway agent loop cannot flood the sandbox or the log. */
export { createRateLimiter, DEFAULT_MAX_RATE_LIMIT_KEYS } from './rate-limit.ts';
export type { RateLimiter, RateLimiterOptions, TakeResult } from './rate-limit.ts';
