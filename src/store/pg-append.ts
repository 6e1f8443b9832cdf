/**
 * Appending events to the one audit chain in PostgreSQL, inside the caller's transaction: the chain
 * head's row is locked (`FOR UPDATE`) and held until that transaction ends, so appends from every
 * connection and every node are serialised and form one chain (see openPostgresStore for why a row lock).
 */
import type { PoolClient } from 'pg';
import { AirlockError } from '../errors/index.ts';
import { chainEvents } from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';
import { PG_NOW_ISO } from './pg-rows.ts';
import type { AuditEvent, AuditEventInput } from './types.ts';

/** Events per INSERT statement: 8 parameters each, well under PostgreSQL's 65535. */
const EVENTS_PER_INSERT = 500;

export interface AppendContext {
  /** The database URL without its password, for messages. */
  readonly where: string;
  /** The store's clock; default the database's. */
  readonly now: (() => Date) | undefined;
}

export async function appendEvents(
  client: PoolClient,
  inputs: readonly AuditEventInput[],
  context: AppendContext,
): Promise<AuditEvent[]> {
  if (inputs.length === 0) return [];
  const head = (
    await client.query<{ seq: number; hash: string; now: string; max: number }>(
      `SELECT seq, hash, ${PG_NOW_ISO} AS now, (SELECT coalesce(max(seq), 0) FROM events) AS max ` +
        'FROM chain_head WHERE id = 1 FOR UPDATE',
    )
  ).rows[0];
  if (head === undefined) {
    throw new AirlockError('STORE_UNAVAILABLE', `store ${context.where}: the audit chain head is missing`);
  }
  // Appending after events the head does not cover would hide them inside a valid-looking chain.
  if (head.max > head.seq) {
    throw new AirlockError(
      'STORE_UNAVAILABLE',
      `store ${context.where}: the audit log has events past its chain head; run airlock audit verify`,
    );
  }
  const at = context.now?.().toISOString() ?? head.now;
  const chained = chainEvents({ seq: head.seq, hash: head.hash }, at, inputs);
  for (let start = 0; start < chained.events.length; start += EVENTS_PER_INSERT) {
    const slice = chained.events.slice(start, start + EVENTS_PER_INSERT);
    const values: unknown[] = [];
    const rows = slice.map((event, index) => {
      values.push(
        event.seq,
        event.at,
        event.type,
        event.sessionId,
        event.commandId,
        canonicalJson(event.data),
        event.prevHash,
        event.hash,
      );
      return `(${Array.from({ length: 8 }, (_, column) => `$${index * 8 + column + 1}`).join(', ')})`;
    });
    await client.query(
      `INSERT INTO events (seq, at, type, session_id, command_id, data, prev_hash, hash) VALUES ${rows.join(', ')}`,
      values,
    );
  }
  await client.query('UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1', [
    chained.head.seq,
    chained.head.hash,
  ]);
  return chained.events;
}
