import { chmodSync, closeSync, constants, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';

export const MEMORY_PATH = ':memory:';

/**
 * Creates the store's directory (0700) and an empty database file (0600) before SQLite opens it: the
 * audit log holds every command an agent ran, and SQLite would otherwise create the file with the
 * process umask (often world-readable). SQLite gives the -wal and -shm files it creates the same mode as
 * the database file. An existing file keeps its mode: an operator may share it with a group on purpose.
 */
export function prepareDatabaseFile(path: string): void {
  if (path === MEMORY_PATH) return;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  } catch (error) {
    // Already there (ours from an earlier run, or another process creating it at the same moment).
    if ((error as { code?: unknown }).code === 'EEXIST') return;
    throw error;
  }
  closeSync(fd);
  // The umask only removes bits; set the exact mode so a restrictive umask cannot leave it unwritable.
  chmodSync(path, 0o600);
}

export interface ConnectionOptions {
  readonly path: string;
  readonly busyTimeoutMs: number;
  readonly readOnly: boolean;
}

/**
 * One connection with the settings every Airlock connection needs. WAL lets readers (verify, tail) run
 * while a writer commits; synchronous=FULL syncs the WAL on every commit so a committed event survives
 * power loss, not only a process crash. trusted_schema=OFF stops a schema edited by someone else (a
 * view or trigger) from calling functions with side effects when Airlock reads it. Extensions stay off.
 */
export function openConnection(options: ConnectionOptions): DatabaseSync {
  const db = new DatabaseSync(options.path, {
    timeout: options.busyTimeoutMs,
    enableForeignKeyConstraints: true,
    readOnly: options.readOnly,
    allowExtension: false,
  });
  try {
    db.exec('PRAGMA trusted_schema = OFF');
    if (!options.readOnly) {
      // Persistent in the file; an in-memory database answers 'memory' and keeps its own journal.
      db.exec('PRAGMA journal_mode = WAL');
      db.exec('PRAGMA synchronous = FULL');
    }
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}
