import { AirlockError, isAirlockError } from '../errors/index.ts';

export interface PgErrorContext {
  /** The database URL without its password. */
  readonly where: string;
  /** What the store was doing: "open", "commit", "read events"… */
  readonly operation: string;
}

/** SQLSTATEs of a transaction PostgreSQL aborted to resolve a conflict: trying again is correct. */
const RETRYABLE = new Set(['40001', '40P01']);

export function isRetryablePgError(error: unknown): boolean {
  return RETRYABLE.has(sqlState(error) ?? '');
}

/**
 * Turns whatever `pg` threw into an AirlockError with a one-line message. A connection that failed or
 * broke, a server shutting down or out of resources is STORE_UNAVAILABLE (broken infrastructure,
 * 503); a record PostgreSQL refuses (a constraint, a value of the wrong shape) is a bug in the caller
 * and INTERNAL, as in the SQLite store. An AirlockError passes through.
 */
export function toPgStoreError(error: unknown, context: PgErrorContext): AirlockError {
  if (isAirlockError(error)) return error;
  const where = `store ${context.where}: ${context.operation} failed`;
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const state = sqlState(error);
  const details = { store: context.where, operation: context.operation, sqlState: state, reason };
  const options = { cause: error };
  if (state === undefined) {
    return new AirlockError(
      'STORE_UNAVAILABLE',
      `${where}: ${reason || 'the connection to the database failed'}`,
      details,
      options,
    );
  }
  const stateClass = state.slice(0, 2);
  if (stateClass === '23' || stateClass === '22') {
    return new AirlockError(
      'INTERNAL',
      `${where}: the store refused the record (${reason})`,
      details,
      options,
    );
  }
  if (stateClass === '28') {
    return new AirlockError(
      'STORE_UNAVAILABLE',
      `${where}: the database refused the credentials (${reason})`,
      details,
      options,
    );
  }
  if (stateClass === '3D') {
    return new AirlockError(
      'STORE_UNAVAILABLE',
      `${where}: the database does not exist (${reason}); create it first`,
      details,
      options,
    );
  }
  return new AirlockError('STORE_UNAVAILABLE', `${where}: ${reason}`, details, options);
}

function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  // SQLSTATEs are five characters; Node's own codes (ECONNREFUSED…) are connection failures.
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}
