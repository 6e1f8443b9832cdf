import { AirlockError } from '../errors/index.ts';

/**
 * Checks of the arguments callers pass to the `Store` port's queries, shared by both adapters so a bad
 * value is refused with the same code and field whichever database is behind the port.
 */

export function checkSessionLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new AirlockError('INVALID_ARGUMENT', 'limit must be a positive whole number', {
      field: 'limit',
      value: String(limit),
    });
  }
}

export function checkMaxChars(maxChars: number): void {
  if (!Number.isSafeInteger(maxChars) || maxChars < 0) {
    throw new AirlockError('INVALID_ARGUMENT', 'maxChars must be a non-negative whole number', {
      field: 'maxChars',
    });
  }
}

/** An ISO 8601 time, normalised to the form the stores keep (toISOString). */
export function checkCutoff(endedBefore: string): string {
  const cutoff = new Date(endedBefore);
  if (typeof endedBefore !== 'string' || Number.isNaN(cutoff.getTime())) {
    throw new AirlockError('INVALID_ARGUMENT', 'endedBefore must be an ISO 8601 time', {
      field: 'endedBefore',
      value: String(endedBefore),
    });
  }
  return cutoff.toISOString();
}
