import type { StatementSync } from 'node:sqlite';
import { pageText, validatePageRequest } from './output-page.ts';
import { queryCommands, sessionAndStateConditions } from './sqlite-command-query.ts';
import {
  approvalFromRow,
  columns,
  commandFromRow,
  outputFromRow,
  sessionFromRow,
  type Params,
  type Row,
} from './sqlite-rows.ts';
import { checkCutoff, checkMaxChars, checkSessionLimit } from './store-arguments.ts';
import type { Store } from './types.ts';

export type SqliteReads = Pick<
  Store,
  | 'getSession'
  | 'listSessions'
  | 'getCommand'
  | 'listCommands'
  | 'queryCommands'
  | 'getApproval'
  | 'listApprovals'
  | 'getOutput'
  | 'readOutput'
  | 'trimSessionOutputs'
  | 'pruneOutputs'
>;

export interface SqliteReadParts {
  readonly statement: (sql: string) => StatementSync;
  /** Runs work against the open database, turning a failure into an AirlockError. */
  readonly run: <T>(operation: string, work: () => T) => T;
  readonly getRow: (table: string, id: string) => Row | undefined;
}

/** The SQLite store's single statements: record reads and the output clean-up. */
export function createSqliteReads({ statement, run, getRow }: SqliteReadParts): SqliteReads {
  return {
    async getSession(id) {
      return run('read session', () => {
        const row = getRow('sessions', id);
        return row === undefined ? null : sessionFromRow(row);
      });
    },

    async listSessions(query = {}) {
      return run('list sessions', () => {
        const where = query.state === undefined ? '' : 'WHERE state = :state';
        const params: Params = query.state === undefined ? {} : { state: query.state };
        if (query.limit === undefined) {
          return statement(`SELECT * FROM sessions ${where} ORDER BY created_at, id`)
            .all(params)
            .map(sessionFromRow);
        }
        checkSessionLimit(query.limit);
        return statement(`SELECT * FROM sessions ${where} ORDER BY created_at DESC, id DESC LIMIT :limit`)
          .all({ ...params, limit: query.limit })
          .map(sessionFromRow)
          .reverse();
      });
    },

    async getCommand(id) {
      return run('read command', () => {
        const row = getRow('commands', id);
        return row === undefined ? null : commandFromRow(row);
      });
    },

    async listCommands(query) {
      return run('list commands', () => {
        const params: Params = {};
        const conditions = sessionAndStateConditions(query, params);
        if (conditions === null) return [];
        const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
        return statement(`SELECT * FROM commands ${where} ORDER BY created_at, id`)
          .all(params)
          .map(commandFromRow);
      });
    },

    queryCommands: async (query) => run('list commands', () => queryCommands(statement, query)),

    async getApproval(id) {
      return run('read approval', () => {
        const row = getRow('approvals', id);
        return row === undefined ? null : approvalFromRow(row);
      });
    },

    async listApprovals(query = {}) {
      return run('list approvals', () => {
        const conditions: string[] = [];
        const params: Params = {};
        if (query.status !== undefined) {
          conditions.push('status = :status');
          params['status'] = query.status;
        }
        if (query.sessionId !== undefined) {
          conditions.push('session_id = :sessionId');
          params['sessionId'] = query.sessionId;
        }
        const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
        return statement(`SELECT * FROM approvals ${where} ORDER BY created_at, id`)
          .all(params)
          .map(approvalFromRow);
      });
    },

    async getOutput(id) {
      return run('read output', () => {
        const row = getRow('outputs', id);
        return row === undefined ? null : outputFromRow(row);
      });
    },

    async readOutput(id, page) {
      validatePageRequest(page);
      return run('read output', () => {
        // Only the requested stream is loaded; the column name comes from the validated enum.
        const row = statement(
          `SELECT id, ${page.stream}, session_id, command_id FROM outputs WHERE id = ?`,
        ).get(id);
        if (row === undefined) return null;
        const read = columns(row, 'outputs');
        return {
          ...pageText(id, read.text(page.stream), page),
          sessionId: read.text('session_id'),
          commandId: read.text('command_id'),
        };
      });
    },

    async trimSessionOutputs(sessionId, maxChars) {
      checkMaxChars(maxChars);
      return run('trim outputs', () => {
        // `newer` is what the outputs after this one hold: an output goes when keeping it would take
        // the session past the budget. The newest (no `newer`) always stays.
        const result = statement(
          'DELETE FROM outputs WHERE id IN (SELECT id FROM (' +
            'SELECT id, length(stdout) + length(stderr) AS size, SUM(length(stdout) + length(stderr)) OVER (' +
            'ORDER BY created_at DESC, rowid DESC ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS newer ' +
            'FROM outputs WHERE session_id = ?) WHERE newer IS NOT NULL AND newer + size > ?)',
        ).run(sessionId, maxChars);
        return Number(result.changes);
      });
    },

    async pruneOutputs(endedBefore) {
      const cutoff = checkCutoff(endedBefore);
      return run('prune outputs', () => {
        const result = statement(
          'DELETE FROM outputs WHERE session_id IN ' +
            "(SELECT id FROM sessions WHERE state = 'ended' AND ended_at IS NOT NULL AND ended_at < ?)",
        ).run(cutoff);
        return Number(result.changes);
      });
    },
  };
}
