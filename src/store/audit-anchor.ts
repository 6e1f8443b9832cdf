import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import type { AuditCheckpoint } from './types.ts';

/**
 * The anchor: a copy of the newest checkpoint this machine signed for one store, kept outside that
 * store. Checkpoints inside the database can be deleted by whoever writes it, together with the events
 * they name; the anchor still names the head that was signed, so verify sees the chain fall short of
 * it. One file per store, named after the store's location, so two stores under one AIRLOCK_HOME
 * never compare against each other's anchor.
 */

export const AUDIT_ANCHOR_DIR = 'audit-anchors';

/** An anchor is one checkpoint: anything larger is not one. */
const MAX_ANCHOR_BYTES = 16 * 1024;

export function auditAnchorPath(home: string, storeLocation: string): string {
  const name = createHash('sha256').update(storeLocation, 'utf8').digest('hex').slice(0, 32);
  return join(home, AUDIT_ANCHOR_DIR, `${name}.json`);
}

export type AnchorRead =
  | { readonly status: 'absent' }
  | { readonly status: 'found'; readonly checkpoint: AuditCheckpoint }
  | { readonly status: 'unreadable'; readonly message: string };

/** Reads the anchor; a file that is there but is not a checkpoint is reported, never ignored. */
export function readAuditAnchor(path: string): AnchorRead {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { status: 'absent' };
    return { status: 'unreadable', message: `cannot read the anchor ${path}: ${String(error)}` };
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size > MAX_ANCHOR_BYTES) {
      return { status: 'unreadable', message: `the anchor ${path} is not a checkpoint file` };
    }
    const buffer = Buffer.alloc(stat.size);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const checkpoint = parseCheckpoint(buffer.subarray(0, read).toString('utf8'));
    return checkpoint === undefined
      ? { status: 'unreadable', message: `the anchor ${path} does not hold a checkpoint (edited?)` }
      : { status: 'found', checkpoint };
  } finally {
    closeSync(fd);
  }
}

/**
 * Replaces the anchor atomically (a temporary file, synced, renamed over it): a crash leaves the old
 * anchor or the new one, never half of one. Synchronous like the store's own commits, once per
 * checkpoint: asynchronous file calls would wait behind a busy run of commits for a turn of the loop.
 */
export function writeAuditAnchor(path: string, checkpoint: AuditCheckpoint): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    try {
      writeFileSync(fd, `${JSON.stringify(checkpoint)}\n`);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

function parseCheckpoint(text: string): AuditCheckpoint | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const { seq, hash, at, keyId, signature } = record;
  if (
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 1 ||
    typeof hash !== 'string' ||
    typeof at !== 'string' ||
    typeof keyId !== 'string' ||
    typeof signature !== 'string'
  ) {
    return undefined;
  }
  return { seq, hash, at, keyId, signature };
}

// Security limitations:
// - The anchor sits beside the key under AIRLOCK_HOME: it stops a database writer, not someone who can
//   write AIRLOCK_HOME (who can also read the key). It holds only the newest head, so events after it
//   are protected by the hash chain and the witness alone.
