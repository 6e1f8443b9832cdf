import { AirlockError, isAirlockError } from '../errors/index.ts';

/** SQLite primary result codes (the low byte of an extended code) that we tell apart. */
const SQLITE_PERM = 3;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;
const SQLITE_READONLY = 8;
const SQLITE_IOERR = 10;
const SQLITE_CORRUPT = 11;
const SQLITE_FULL = 13;
const SQLITE_CANTOPEN = 14;
const SQLITE_TOOBIG = 18;
const SQLITE_CONSTRAINT = 19;
const SQLITE_MISMATCH = 20;
const SQLITE_RANGE = 25;
const SQLITE_NOTADB = 26;

export interface StoreErrorContext {
  /** The database file, or ':memory:'. */
  readonly path: string;
  /** What the store was doing, for the message: "open", "commit", "read events"… */
  readonly operation: string;
  readonly busyTimeoutMs: number;
}

/**
 * Turns whatever a SQLite call threw into an AirlockError with a one-line message. Broken infrastructure
 * (locked, full, corrupt, unreadable) is STORE_UNAVAILABLE; a write SQLite refuses as malformed (a
 * constraint, a wrong type) is a bug in the caller and is INTERNAL. An AirlockError passes through.
 */
export function toStoreError(error: unknown, context: StoreErrorContext): AirlockError {
  if (isAirlockError(error)) return error;
  const where = `store ${context.path}: ${context.operation} failed`;
  const sqliteCode = sqliteErrorCode(error);
  const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
  const details = { path: context.path, operation: context.operation, sqliteCode, reason };
  const options = { cause: error };
  if (sqliteCode === undefined) {
    const systemCode = (error as { code?: unknown } | null)?.code;
    if (typeof systemCode === 'string' && /^E[A-Z]+$/.test(systemCode)) {
      // A file-system error around the database (mkdir, open, chmod): the store cannot be used.
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `${where}: ${reason}`,
        { ...details, systemCode },
        options,
      );
    }
    return new AirlockError('INTERNAL', `${where}: ${reason}`, details, options);
  }
  switch (sqliteCode & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `${where}: the database stayed locked by another process for ${context.busyTimeoutMs} ms`,
        details,
        options,
      );
    case SQLITE_FULL:
      return new AirlockError('STORE_UNAVAILABLE', `${where}: the disk is full`, details, options);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `${where}: the file is corrupt or is not an Airlock store (${reason})`,
        details,
        options,
      );
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
      return new AirlockError(
        'STORE_UNAVAILABLE',
        `${where}: the file or its directory cannot be opened for writing (${reason})`,
        details,
        options,
      );
    case SQLITE_IOERR:
      return new AirlockError('STORE_UNAVAILABLE', `${where}: I/O error (${reason})`, details, options);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return new AirlockError(
        'INTERNAL',
        `${where}: the store refused the record (${reason})`,
        details,
        options,
      );
    default:
      return new AirlockError('STORE_UNAVAILABLE', `${where}: ${reason}`, details, options);
  }
}

function sqliteErrorCode(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, errcode } = error as { code?: unknown; errcode?: unknown };
  if (code !== 'ERR_SQLITE_ERROR' || typeof errcode !== 'number') return undefined;
  return errcode;
}
