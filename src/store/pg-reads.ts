import { rowOf } from './pg-rows.ts';
import { checkCheckpoint, checkpointFromRow, CHECKPOINT_COLUMNS } from './sqlite-checkpoints.ts';
import { checkEventQuery, eventFromRow, EVENT_COLUMNS } from './sqlite-events.ts';
import { approvalFromRow, commandFromRow, outputFromRow, sessionFromRow } from './sqlite-rows.ts';
import { checkCutoff, checkMaxChars, checkSessionLimit } from './store-arguments.ts';
import type { AuditEvent, EventQuery, Store } from './types.ts';

type Condition = readonly [template: string, value: unknown];

type Query = (
  operation: string,
  text: string,
  values?: readonly unknown[],
) => Promise<Record<string, unknown>[]>;

export type PgReads = Pick<
  Store,
  | 'getSession'
  | 'listSessions'
  | 'getCommand'
  | 'listCommands'
  | 'getApproval'
  | 'listApprovals'
  | 'getOutput'
  | 'listEvents'
  | 'lastCheckpoint'
  | 'addCheckpoint'
  | 'trimSessionOutputs'
  | 'pruneOutputs'
>;

/** The PostgreSQL store's single statements: reads, checkpoints and the output clean-up. */
export function createPgReads(query: Query): PgReads {
  const one = async (operation: string, table: string, id: string) =>
    (await query(operation, `SELECT * FROM ${table} WHERE id = $1`, [id])).map(rowOf)[0];

  /** Conditions joined with AND; the `?` of each becomes its value's positional parameter. */
  const where = (conditions: readonly Condition[]): { text: string; values: unknown[] } => ({
    text:
      conditions.length === 0
        ? ''
        : `WHERE ${conditions.map(([template], index) => template.replace('?', `$${index + 1}`)).join(' AND ')}`,
    values: conditions.map(([, value]) => value),
  });

  return {
    async getSession(id) {
      const row = await one('read session', 'sessions', id);
      return row === undefined ? null : sessionFromRow(row);
    },
    async listSessions(options = {}) {
      const filter = where(options.state === undefined ? [] : [['state = ?', options.state]]);
      if (options.limit === undefined) {
        const rows = await query(
          'list sessions',
          `SELECT * FROM sessions ${filter.text} ORDER BY created_at, id`,
          filter.values,
        );
        return rows.map((row) => sessionFromRow(rowOf(row)));
      }
      checkSessionLimit(options.limit);
      const rows = await query(
        'list sessions',
        `SELECT * FROM sessions ${filter.text} ORDER BY created_at DESC, id DESC LIMIT $${filter.values.length + 1}`,
        [...filter.values, options.limit],
      );
      return rows.map((row) => sessionFromRow(rowOf(row))).reverse();
    },
    async getCommand(id) {
      const row = await one('read command', 'commands', id);
      return row === undefined ? null : commandFromRow(row);
    },
    async listCommands(options) {
      // An empty list of states matches nothing, never everything.
      if (options.states !== undefined && options.states.length === 0) return [];
      const filter = where([
        ...(options.sessionId === undefined ? [] : [['session_id = ?', options.sessionId] as const]),
        ...(options.states === undefined ? [] : [['state = ANY(?)', [...options.states]] as const]),
      ]);
      const text = `SELECT * FROM commands ${filter.text} ORDER BY created_at, id`;
      return (await query('list commands', text, filter.values)).map((row) => commandFromRow(rowOf(row)));
    },
    async getApproval(id) {
      const row = await one('read approval', 'approvals', id);
      return row === undefined ? null : approvalFromRow(row);
    },
    async listApprovals(options = {}) {
      const filter = where([
        ...(options.status === undefined ? [] : [['status = ?', options.status] as const]),
        ...(options.sessionId === undefined ? [] : [['session_id = ?', options.sessionId] as const]),
      ]);
      const rows = await query(
        'list approvals',
        `SELECT * FROM approvals ${filter.text} ORDER BY created_at, id`,
        filter.values,
      );
      return rows.map((row) => approvalFromRow(rowOf(row)));
    },
    async getOutput(id) {
      const rows = await query(
        'read output',
        'SELECT id, session_id, command_id, stdout, stderr, stdout_total_bytes, stderr_total_bytes, created_at FROM outputs WHERE id = $1',
        [id],
      );
      const row = rows[0];
      return row === undefined ? null : outputFromRow(rowOf(row));
    },
    listEvents: (options = {}) => listPgEvents(query, options),
    async addCheckpoint(checkpoint) {
      checkCheckpoint(checkpoint);
      // Another node signing with the same key may have stored this head first; either signature vouches.
      await query(
        'store checkpoint',
        `INSERT INTO audit_checkpoints (${CHECKPOINT_COLUMNS}) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq, key_id) DO NOTHING`,
        [checkpoint.seq, checkpoint.keyId, checkpoint.hash, checkpoint.at, checkpoint.signature],
      );
    },
    async lastCheckpoint(keyId) {
      const rows = await query(
        'read checkpoint',
        `SELECT ${CHECKPOINT_COLUMNS} FROM audit_checkpoints WHERE key_id = $1 ORDER BY seq DESC LIMIT 1`,
        [keyId],
      );
      const row = rows[0];
      return row === undefined ? null : checkpointFromRow(rowOf(row));
    },
    async trimSessionOutputs(sessionId, maxChars) {
      checkMaxChars(maxChars);
      // `newer` is what the outputs after this one hold: an output goes when keeping it would take the
      // session past the budget. The newest (no `newer`) always stays.
      const rows = await query(
        'trim outputs',
        'DELETE FROM outputs WHERE id IN (SELECT id FROM (' +
          'SELECT id, chars AS size, SUM(chars) OVER (ORDER BY created_at DESC, ord DESC ' +
          'ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer ' +
          'FROM outputs WHERE session_id = $1) sized WHERE newer IS NOT NULL AND newer + size > $2) RETURNING id',
        [sessionId, maxChars],
      );
      return rows.length;
    },
    async pruneOutputs(endedBefore) {
      const cutoff = checkCutoff(endedBefore);
      const rows = await query(
        'prune outputs',
        'DELETE FROM outputs WHERE session_id IN ' +
          "(SELECT id FROM sessions WHERE state = 'ended' AND ended_at IS NOT NULL AND ended_at < $1) RETURNING id",
        [cutoff],
      );
      return rows.length;
    },
  };
}

/** Audit events by the query's bounds and filters, oldest first. */
async function listPgEvents(query: Query, options: EventQuery): Promise<AuditEvent[]> {
  const { afterSeq, limit } = checkEventQuery(options);
  // An empty list of types matches nothing, never everything.
  if (options.types !== undefined && options.types.length === 0) return [];
  const conditions = ['seq > $1'];
  const values: unknown[] = [afterSeq, limit];
  if (options.sessionId !== undefined) {
    values.push(options.sessionId);
    conditions.push(`session_id = $${values.length}`);
  }
  if (options.commandId !== undefined) {
    values.push(options.commandId);
    conditions.push(`command_id = $${values.length}`);
  }
  if (options.types !== undefined) {
    values.push([...options.types]);
    conditions.push(`type = ANY($${values.length})`);
  }
  // With beforeSeq: the newest `limit` before it, read backwards and turned round (still oldest first).
  if (options.beforeSeq !== undefined) {
    values.push(options.beforeSeq);
    conditions.push(`seq < $${values.length}`);
  }
  const order = options.beforeSeq === undefined ? 'seq' : 'seq DESC';
  const rows = await query(
    'read events',
    `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY ${order} LIMIT $2`,
    values,
  );
  const events = rows.map((row) => eventFromRow(rowOf(row)));
  return options.beforeSeq === undefined ? events : events.reverse();
}
