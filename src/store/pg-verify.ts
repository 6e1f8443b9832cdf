import type { PoolClient } from 'pg';
import { isAirlockError } from '../errors/index.ts';
import { walkChain } from './audit-walk.ts';
import { rowOf } from './pg-rows.ts';
import { checkpointFromRow, CHECKPOINT_COLUMNS } from './sqlite-checkpoints.ts';
import { EVENT_COLUMNS } from './sqlite-events.ts';
import type { Row } from './sqlite-rows.ts';
import type { AuditCheckpoint, VerifyOptions, VerifyResult } from './types.ts';

/** Events (and checkpoints) read per page: memory stays bounded whatever the length of the log. */
export const PG_VERIFY_PAGE_SIZE = 1000;

/**
 * Walks every event in seq order inside one REPEATABLE READ transaction: one snapshot, so nodes that
 * append meanwhile cannot make the walk and the head disagree, and nobody waits for the walk (readers
 * never block writers in PostgreSQL). Checkpoints are read in seq order beside the events, from the
 * same snapshot, and checked where the walk reaches the event they name (audit-walk.ts).
 */
export async function verifyPgChain(client: PoolClient, options: VerifyOptions = {}): Promise<VerifyResult> {
  try {
    return await walkChain(
      async () => {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const headRow = (await client.query('SELECT seq, hash FROM chain_head WHERE id = 1')).rows[0] as
          | Row
          | undefined;
        const signed = checkpointPager(client);
        return {
          headRow,
          events: async (afterSeq, pageSize) =>
            (
              await client.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, [
                afterSeq,
                pageSize,
              ])
            ).rows.map(rowOf),
          nextCheckpoint: () => signed.next(),
        };
      },
      // A row of the wrong shape: verify's answer is about the log, so it is reported, not thrown.
      { ...options, pageSize: PG_VERIFY_PAGE_SIZE, isReadFailure: isUnreadable },
    );
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
}

function isUnreadable(error: unknown): boolean {
  return isAirlockError(error) && error.code === 'STORE_UNAVAILABLE';
}

/** Checkpoints in (seq, key_id) order, a page at a time. */
function checkpointPager(client: PoolClient): { next(): Promise<AuditCheckpoint | undefined> } {
  let page: AuditCheckpoint[] = [];
  let index = 0;
  let after: { seq: number; keyId: string } | null = null;
  let done = false;
  return {
    async next() {
      if (index < page.length) return page[index++];
      if (done) return undefined;
      const result = await client.query(
        after === null
          ? `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints ORDER BY seq, key_id LIMIT $1`
          : `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE (seq, key_id) > ($2, $3) ORDER BY seq, key_id LIMIT $1`,
        after === null ? [PG_VERIFY_PAGE_SIZE] : [PG_VERIFY_PAGE_SIZE, after.seq, after.keyId],
      );
      page = result.rows.map((row) => checkpointFromRow(rowOf(row)));
      index = 0;
      if (page.length < PG_VERIFY_PAGE_SIZE) done = true;
      const last = page.at(-1);
      if (last === undefined) return undefined;
      after = { seq: last.seq, keyId: last.keyId };
      return page[index++];
    },
  };
}
