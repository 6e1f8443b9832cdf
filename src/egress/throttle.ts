/**
 * Per-session bandwidth: one token bucket per direction, shared by every connection of the session, so
 * opening more connections does not buy more bandwidth. A chunk larger than the bucket is let through
 * and paid for afterwards (the bucket goes into debt), so no chunk size can stall a stream for good.
 */
import { Transform, type TransformCallback } from 'node:stream';

export interface TokenBucket {
  /** Takes `bytes`; returns how long to wait (ms) before sending them. */
  take(bytes: number): number;
}

/** One second of traffic may burst at once. */
export function createTokenBucket(
  bytesPerSecond: number,
  now: () => number = () => performance.now(),
): TokenBucket {
  let tokens = bytesPerSecond;
  let last = now();
  return {
    take(bytes) {
      const at = now();
      tokens = Math.min(bytesPerSecond, tokens + ((at - last) / 1000) * bytesPerSecond);
      last = at;
      tokens -= bytes;
      return tokens >= 0 ? 0 : (-tokens / bytesPerSecond) * 1000;
    },
  };
}

/** Delays each chunk until the bucket allows it; backpressure holds the source meanwhile. */
export function throttleStream(bucket: TokenBucket): Transform {
  let timer: NodeJS.Timeout | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      const waitMs = bucket.take(chunk.length);
      if (waitMs <= 0) {
        callback(null, chunk);
        return;
      }
      timer = setTimeout(() => callback(null, chunk), waitMs);
    },
    destroy(error, callback) {
      clearTimeout(timer);
      callback(error);
    },
  });
}
