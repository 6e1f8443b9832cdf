/**
 * An online backup of the SQLite store: a consistent copy taken while a control plane keeps writing.
 * Copying the file with `cp` is not safe: the newest commits live in the -wal file, and a copy of the
 * two taken at different moments can be torn. SQLite's backup API copies pages inside one read
 * transaction instead; in WAL mode that transaction does not block the writer.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fsyncSync, linkSync, lstatSync, openSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { backup, DatabaseSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { toStoreError } from './sqlite-errors.ts';
import { MEMORY_PATH, openConnection } from './sqlite-file.ts';

export interface StoreBackupOptions {
  /** How long opening the store may wait for another process's lock (default 5000). */
  readonly busyTimeoutMs?: number;
}

export interface StoreBackupReport {
  /** The backup file, absolute. */
  readonly path: string;
  readonly bytes: number;
  /** The store's schema version (`PRAGMA user_version`) in the copy. */
  readonly schemaVersion: number;
  /** Audit events in the copy; they run 1..events without gaps (checked). */
  readonly events: number;
}

/**
 * Pages per backup step. A step holds one read transaction on the store; a later step would restart
 * the whole copy whenever another process committed in between, which a busy control plane does
 * all the time. One step that copies every page sees one snapshot and never restarts.
 */
const ALL_PAGES = 2 ** 31 - 1;

/**
 * Copies the store at `sourcePath` into a new file at `targetPath` (mode 0600, never overwriting
 * anything), checks the copy, and reports what it holds. The copy is written beside the target under a
 * temporary name, synced, and only then linked to the target name, so a crash never leaves a
 * half-written file that looks like a backup.
 */
export async function backupSqliteStore(
  sourcePath: string,
  targetPath: string,
  options: StoreBackupOptions = {},
): Promise<StoreBackupReport> {
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (sourcePath === MEMORY_PATH) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      'store: sqlite::memory: lives inside the process that made it; there is no file to back up',
      { field: 'store' },
    );
  }
  if (!isFile(sourcePath)) {
    throw new AirlockError('STORE_UNAVAILABLE', `no store at ${sourcePath}: nothing to back up`, {
      path: sourcePath,
    });
  }
  refuseExisting(targetPath);
  const temporary = join(
    dirname(targetPath),
    `.${basename(targetPath)}.${randomBytes(6).toString('hex')}.tmp`,
  );
  try {
    // Created here, exclusively and 0600: the audit log holds every command an agent ran.
    closeSync(openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600));
  } catch (error) {
    throw targetProblem(targetPath, error);
  }
  try {
    await copyPages(sourcePath, temporary, busyTimeoutMs);
    const report = checkCopy(temporary);
    syncFile(temporary);
    try {
      // link() fails on an existing name: a file that appeared meanwhile is never replaced.
      linkSync(temporary, targetPath);
    } catch (error) {
      throw targetProblem(targetPath, error);
    }
    syncFile(dirname(targetPath));
    return { path: targetPath, bytes: statSync(targetPath).size, ...report };
  } finally {
    rmSync(temporary, { force: true });
    rmSync(`${temporary}-journal`, { force: true });
  }
}

async function copyPages(sourcePath: string, temporary: string, busyTimeoutMs: number): Promise<void> {
  let source: DatabaseSync;
  try {
    // Read-only: a backup never writes the store it copies.
    source = openConnection({ path: sourcePath, busyTimeoutMs, readOnly: true });
  } catch (error) {
    throw toStoreError(error, { path: sourcePath, operation: 'open for backup', busyTimeoutMs });
  }
  try {
    const version = source.prepare('PRAGMA user_version').get()?.['user_version'];
    if (typeof version !== 'number' || version < 1) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `${sourcePath} is not an Airlock store (no schema version): nothing was copied`,
        { path: sourcePath },
      );
    }
    await backup(source, temporary, { rate: ALL_PAGES });
  } catch (error) {
    throw toStoreError(error, { path: sourcePath, operation: 'backup', busyTimeoutMs });
  } finally {
    source.close();
  }
}

/**
 * Checks the copy before it gets its name: SQLite's own integrity check, and an audit log whose seqs
 * run 1..n without a gap. Also turns the copy into a single self-contained file (rollback journal
 * instead of WAL), so it can be moved, checksummed and opened read-only anywhere; Airlock switches a
 * restored store back to WAL when it opens it.
 */
function checkCopy(path: string): Omit<StoreBackupReport, 'path' | 'bytes'> {
  const copy = new DatabaseSync(path, { allowExtension: false });
  try {
    copy.exec('PRAGMA trusted_schema = OFF');
    copy.exec('PRAGMA journal_mode = DELETE');
    const integrity = copy.prepare('PRAGMA integrity_check').all();
    const verdict = integrity.map((row) => String(row['integrity_check'])).join('; ');
    if (verdict !== 'ok') {
      throw new AirlockError('STORE_UNAVAILABLE', `the backup failed SQLite's integrity check: ${verdict}`, {
        path,
      });
    }
    const schemaVersion = Number(copy.prepare('PRAGMA user_version').get()?.['user_version']);
    const row = copy.prepare('SELECT count(*) AS n, coalesce(max(seq), 0) AS last FROM events').get();
    const events = Number(row?.['n']);
    if (events !== Number(row?.['last'])) {
      throw new AirlockError(
        'STORE_UNAVAILABLE',
        `the backup holds ${events} audit events but its newest is seq ${String(row?.['last'])}: the store is damaged; run airlock audit verify`,
        { path },
      );
    }
    return { schemaVersion, events };
  } catch (error) {
    throw toStoreError(error, { path, operation: 'check the backup', busyTimeoutMs: 0 });
  } finally {
    copy.close();
  }
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A backup never overwrites: a wrong argument must not replace the live store or an older backup. */
function refuseExisting(targetPath: string): void {
  let exists = true;
  try {
    lstatSync(targetPath);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw targetProblem(targetPath, error);
    exists = false;
  }
  if (exists) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `${targetPath} already exists; a backup never overwrites a file: name a new one`,
      { path: targetPath },
    );
  }
}

function targetProblem(targetPath: string, error: unknown): AirlockError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EEXIST') {
    return new AirlockError('INVALID_ARGUMENT', `${targetPath} already exists; name a new file`, {
      path: targetPath,
    });
  }
  const why =
    code === 'ENOENT' ? `its directory ${dirname(targetPath)} does not exist` : String(code ?? error);
  return new AirlockError('INVALID_ARGUMENT', `cannot write the backup ${targetPath}: ${why}`, {
    path: targetPath,
    ...(code === undefined ? {} : { systemCode: code }),
  });
}

function syncFile(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// Security limitations:
// - The backup holds everything the store holds (commands, redacted outputs, approvals, the audit log)
//   with mode 0600; where it is kept afterwards decides who can read it.
// - A backup is as trustworthy as the store was when it was taken: it copies a tampered chain as it is.
//   Its checkpoints stay verifiable with the signing key's public half (airlock audit verify).
