/**
 * Deadlines and cancellation for calls: a caller's `signal` and `timeoutMs` become one AbortSignal that
 * goes to `fetch` (so it also stops a body being read), and an abort becomes TIMEOUT or ABORTED.
 */
import { AirlockApiError, invalidArgument } from './errors.ts';

/** What every call accepts. */
export interface CallOptions {
  /** Stops the call (the request and any body being read). Raises code ABORTED, or TIMEOUT for a timeout signal. */
  readonly signal?: AbortSignal;
  /** Time limit for the call on the client side; raises code TIMEOUT. */
  readonly timeoutMs?: number;
}

/** `signal` and `timeoutMs` as one signal; undefined when there is neither. */
export function deadlineSignal(
  signal: AbortSignal | undefined,
  timeoutMs: number | undefined,
): AbortSignal | undefined {
  if (timeoutMs === undefined) return signal;
  if (!Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw invalidArgument(`timeoutMs must be a finite number ≥ 0, got ${String(timeoutMs)}`, { timeoutMs });
  }
  const timeout = AbortSignal.timeout(Math.ceil(timeoutMs));
  return signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
}

/**
 * `AbortSignal.timeout` aborts with a `TimeoutError` DOMException and `AbortSignal.any` passes the
 * firing signal's reason on, so the reason tells a deadline from a caller's abort.
 */
function isTimeoutReason(reason: unknown): boolean {
  return (
    typeof reason === 'object' && reason !== null && (reason as { name?: unknown }).name === 'TimeoutError'
  );
}

/** The error for a call stopped by its (aborted) signal. */
export function abortedError(signal: AbortSignal, request: string): AirlockApiError {
  const reason: unknown = signal.reason;
  return isTimeoutReason(reason)
    ? new AirlockApiError({
        code: 'TIMEOUT',
        status: 0,
        message: `${request} timed out`,
        request,
        cause: reason,
      })
    : new AirlockApiError({
        code: 'ABORTED',
        status: 0,
        message: `${request} was aborted`,
        request,
        cause: reason,
      });
}

/**
 * Maps a failure of `fetch` or of reading a body: our signal fired → TIMEOUT/ABORTED, an
 * AirlockApiError passes through, anything else is a broken connection.
 */
export function transportError(
  error: unknown,
  signal: AbortSignal | undefined,
  request: string,
): AirlockApiError {
  if (error instanceof AirlockApiError) return error;
  if (signal?.aborted === true) return abortedError(signal, request);
  const reason = error instanceof Error ? error.message : String(error);
  return new AirlockApiError({
    code: 'CONNECTION_FAILED',
    status: 0,
    message: `${request} failed: ${reason}`,
    request,
    cause: error,
  });
}

/** Waits `delayMs`, or rejects as soon as `signal` aborts. */
export function sleep(delayMs: number, signal: AbortSignal | undefined, request: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(abortedError(signal, request));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      if (signal !== undefined) reject(abortedError(signal, request));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
