import type { StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { columns, type Row } from './sqlite-rows.ts';
import type { AuditCheckpoint } from './types.ts';

/** Checkpoint rows of the SQLite store: the signing and checking live in audit-checkpoint.ts. */

export const CHECKPOINT_COLUMNS = 'seq, key_id, hash, at, signature';

export function checkpointFromRow(row: Row): AuditCheckpoint {
  const read = columns(row, 'audit_checkpoints');
  return {
    seq: read.number('seq'),
    hash: read.text('hash'),
    at: read.text('at'),
    keyId: read.text('key_id'),
    signature: read.text('signature'),
  };
}

export interface CheckpointRows {
  add(checkpoint: AuditCheckpoint): void;
  last(keyId: string): AuditCheckpoint | null;
}

/** Checkpoints come from the signer, never from a caller: a malformed one is a bug. */
export function checkCheckpoint(checkpoint: AuditCheckpoint): void {
  const problem =
    !Number.isSafeInteger(checkpoint.seq) || checkpoint.seq < 1
      ? 'seq must be a positive integer'
      : [checkpoint.hash, checkpoint.at, checkpoint.keyId, checkpoint.signature].some(
            (value) => typeof value !== 'string' || value === '',
          )
        ? 'hash, at, keyId and signature must be non-empty text'
        : undefined;
  if (problem !== undefined) throw new AirlockError('INTERNAL', `audit checkpoint: ${problem}`);
}

export function createCheckpointRows(statement: (sql: string) => StatementSync): CheckpointRows {
  return {
    add(checkpoint) {
      checkCheckpoint(checkpoint);
      // A second signer process (another control plane on this store with the same key) may have
      // signed the same head first; either signature vouches for it.
      statement(
        `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES (:seq, :key_id, :hash, :at, :signature) ` +
          'ON CONFLICT (seq, key_id) DO NOTHING',
      ).run({
        seq: checkpoint.seq,
        key_id: checkpoint.keyId,
        hash: checkpoint.hash,
        at: checkpoint.at,
        signature: checkpoint.signature,
      });
    },
    last(keyId) {
      const row = statement(
        `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE key_id = ? ORDER BY seq DESC LIMIT 1`,
      ).get(keyId);
      return row === undefined ? null : checkpointFromRow(row);
    },
  };
}
