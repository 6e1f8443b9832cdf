import type { PoolClient } from 'pg';
import { isAirlockError } from '../errors/index.ts';
import { createChainChecker, type ChainHead } from './audit-chain.ts';
import { createCheckpointChecker } from './audit-checkpoint.ts';
import { rowOf } from './pg-rows.ts';
import { checkpointFromRow, CHECKPOINT_COLUMNS } from './sqlite-checkpoints.ts';
import { EVENT_COLUMNS } from './sqlite-events.ts';
import type { Row } from './sqlite-rows.ts';
import { storedEvent } from './sqlite-verify.ts';
import type { AuditCheckpoint, VerifyOptions, VerifyResult } from './types.ts';

/** Events (and checkpoints) read per page: memory stays bounded whatever the length of the log. */
export const PG_VERIFY_PAGE_SIZE = 1000;

/**
 * Walks every event in seq order inside one REPEATABLE READ transaction: one snapshot, so nodes that
 * append meanwhile cannot make the walk and the head disagree, and nobody waits for the walk (readers
 * never block writers in PostgreSQL). Checkpoints are read in seq order beside the events, from the
 * same snapshot, and checked where the walk reaches the event they name, as in sqlite-verify.ts.
 */
export async function verifyPgChain(client: PoolClient, options: VerifyOptions = {}): Promise<VerifyResult> {
  const checker = createChainChecker();
  const checkpoints = createCheckpointChecker(options.trustedKeys, () => checker.progress().checked);
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    const headRow = (await client.query('SELECT seq, hash FROM chain_head WHERE id = 1')).rows[0] as
      | Row
      | undefined;
    const signed = checkpointPager(client);
    let pending = await signed.next();
    let afterSeq = 0;
    for (;;) {
      const rows = (
        await client.query(`SELECT ${EVENT_COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2`, [
          afterSeq,
          PG_VERIFY_PAGE_SIZE,
        ])
      ).rows.map(rowOf);
      for (const row of rows) {
        const event = storedEvent(row);
        const failure = checker.next(event);
        if (failure) return failure;
        while (pending !== undefined && pending.seq <= event.seq) {
          const bad = checkpoints.check(pending, pending.seq === event.seq ? event.hash : undefined);
          if (bad) return bad;
          pending = await signed.next();
        }
      }
      const last = rows.at(-1);
      if (rows.length < PG_VERIFY_PAGE_SIZE || last === undefined) break;
      afterSeq = Number(last['seq']);
    }
    const chain = checker.finish(head(headRow));
    if (!chain.ok) return chain;
    if (pending !== undefined) {
      const bad = checkpoints.check(pending, undefined);
      if (bad) return bad;
    }
    return { ...chain, checkpoints: checkpoints.summary(checker.progress().lastSeq) };
  } catch (error) {
    if (!isAirlockError(error) || error.code !== 'STORE_UNAVAILABLE') throw error;
    // A row of the wrong shape: verify's answer is about the log, so it is reported, not thrown.
    const { lastSeq, checked } = checker.progress();
    return {
      ok: false,
      checked,
      seq: lastSeq + 1,
      problem: 'unreadable',
      message: `event ${lastSeq + 1}: ${error.message}`,
    };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
  }
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

function head(row: Row | undefined): ChainHead | undefined {
  if (row === undefined || typeof row['seq'] !== 'number' || typeof row['hash'] !== 'string')
    return undefined;
  return { seq: row['seq'], hash: row['hash'] };
}
