import { rowOf } from './pg-rows.ts';
import { accessTokenFromRow } from './sqlite-access-tokens.ts';
import { checkCommandQuery } from './sqlite-command-query.ts';
import { commandFromRow } from './sqlite-rows.ts';
import type { Store } from './types.ts';

type Query = (
  operation: string,
  text: string,
  values?: readonly unknown[],
) => Promise<Record<string, unknown>[]>;

export type PgDashboardReads = Pick<
  Store,
  'queryCommands' | 'getAccessToken' | 'findAccessToken' | 'listAccessTokens'
>;

const isAsciiLetter = (byte: number): boolean =>
  (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a);
const hex = (byte: number): string => byte.toString(16).padStart(2, '0');

/**
 * A regular expression over `encode(command, 'hex')` that matches when the command's UTF-8 bytes hold
 * `text`, ASCII letters in either case (as SQLite's LIKE does). Searching the bytes rather than the
 * text: a command is bytea because it may hold NUL, which PostgreSQL text cannot, so converting every
 * command to text would fail the whole search on one such command. `^(..)*?` keeps the match on a byte
 * boundary of the hex string; the pattern is built from hex digits only, so nothing a person types is
 * read as regular-expression syntax.
 */
export function commandSearchPattern(text: string): string {
  const bytes = [...Buffer.from(text, 'utf8')].map((byte) =>
    isAsciiLetter(byte) ? `(${hex(byte & ~0x20)}|${hex(byte | 0x20)})` : hex(byte),
  );
  return `^(..)*?${bytes.join('')}`;
}

/** The PostgreSQL store's reads for people watching agents: command pages and access tokens. */
export function createPgDashboardReads(query: Query): PgDashboardReads {
  const token = async (operation: string, column: 'id' | 'digest', value: string) => {
    const rows = await query(operation, `SELECT * FROM access_tokens WHERE ${column} = $1`, [value]);
    return rows[0] === undefined ? null : accessTokenFromRow(rowOf(rows[0]));
  };
  return {
    async queryCommands(commandQuery) {
      const limit = checkCommandQuery(commandQuery);
      // An empty list of states matches nothing, never everything.
      if (commandQuery.states !== undefined && commandQuery.states.length === 0) return [];
      const values: unknown[] = [limit];
      const conditions: string[] = [];
      const add = (template: string, value: unknown): void => {
        values.push(value);
        conditions.push(template.replace('?', `$${values.length}`));
      };
      if (commandQuery.sessionId !== undefined) add('session_id = ?', commandQuery.sessionId);
      if (commandQuery.states !== undefined) add('state = ANY(?)', [...commandQuery.states]);
      if (commandQuery.id !== undefined) add('id = ?', commandQuery.id);
      if (commandQuery.text !== undefined && commandQuery.text !== '') {
        add("encode(command, 'hex') ~ ?", commandSearchPattern(commandQuery.text));
      }
      if (commandQuery.beforeId !== undefined) {
        // A cursor naming no command matches nothing: the page it came from is gone, not "start again".
        add('(created_at, id) < (SELECT created_at, id FROM commands WHERE id = ?)', commandQuery.beforeId);
      }
      const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
      const rows = await query(
        'list commands',
        `SELECT * FROM commands ${where} ORDER BY created_at DESC, id DESC LIMIT $1`,
        values,
      );
      return rows.map((row) => commandFromRow(rowOf(row)));
    },
    getAccessToken: (id) => token('read token', 'id', id),
    findAccessToken: (digest) => token('read token', 'digest', digest),
    async listAccessTokens() {
      const rows = await query('list tokens', 'SELECT * FROM access_tokens ORDER BY created_at, id');
      return rows.map((row) => accessTokenFromRow(rowOf(row)));
    },
  };
}
