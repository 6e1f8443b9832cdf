import type { StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { commandFromRow, type Params } from './sqlite-rows.ts';
import type { CommandQuery, CommandRecord } from './types.ts';

export const DEFAULT_COMMAND_PAGE = 50;
export const MAX_COMMAND_PAGE = 500;
/** A search longer than any command worth finding is a mistake; the bound keeps LIKE patterns small. */
export const MAX_COMMAND_SEARCH_CHARS = 500;

/** `%`, `_` and the escape itself are literal in a search: a person types text, not a pattern. */
function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (match) => `\\${match}`)}%`;
}

/** Checks a command query from a caller; returns its page size with the default applied. */
export function checkCommandQuery(query: CommandQuery): number {
  const limit = query.limit ?? DEFAULT_COMMAND_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_COMMAND_PAGE) {
    throw new AirlockError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${MAX_COMMAND_PAGE}`, {
      field: 'limit',
      value: String(limit),
      max: MAX_COMMAND_PAGE,
    });
  }
  if (query.text !== undefined && query.text.length > MAX_COMMAND_SEARCH_CHARS) {
    throw new AirlockError('INVALID_ARGUMENT', `a search is at most ${MAX_COMMAND_SEARCH_CHARS} characters`, {
      field: 'text',
      max: MAX_COMMAND_SEARCH_CHARS,
    });
  }
  return limit;
}

/**
 * The WHERE conditions for a command list's session and states, their values set in `params`; null when
 * the query can match nothing (an empty list of states matches nothing, never everything).
 */
export function sessionAndStateConditions(
  query: { readonly sessionId?: string; readonly states?: readonly string[] },
  params: Params,
): string[] | null {
  if (query.states !== undefined && query.states.length === 0) return null;
  const conditions: string[] = [];
  if (query.sessionId !== undefined) {
    conditions.push('session_id = :sessionId');
    params['sessionId'] = query.sessionId;
  }
  if (query.states !== undefined) {
    conditions.push('state IN (SELECT value FROM json_each(:states))');
    params['states'] = JSON.stringify(query.states);
  }
  return conditions;
}

/** A page of commands, newest first, for people watching many sessions at once. */
export function queryCommands(
  statement: (sql: string) => StatementSync,
  query: CommandQuery,
): CommandRecord[] {
  const limit = checkCommandQuery(query);
  const params: Params = { limit };
  const conditions = sessionAndStateConditions(query, params);
  if (conditions === null) return [];
  if (query.id !== undefined) {
    conditions.push('id = :id');
    params['id'] = query.id;
  }
  if (query.text !== undefined && query.text !== '') {
    conditions.push("command LIKE :text ESCAPE '\\'");
    params['text'] = likePattern(query.text);
  }
  if (query.beforeId !== undefined) {
    // A cursor naming no command matches nothing: the page it came from is gone, not "start again".
    conditions.push('(created_at, id) < (SELECT created_at, id FROM commands WHERE id = :beforeId)');
    params['beforeId'] = query.beforeId;
  }
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return statement(`SELECT * FROM commands ${where} ORDER BY created_at DESC, id DESC LIMIT :limit`)
    .all(params)
    .map(commandFromRow);
}
