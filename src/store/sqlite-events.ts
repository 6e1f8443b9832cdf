import type { StatementSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { columns, type Params, type Row } from './sqlite-rows.ts';
import { auditEventTypes, type AuditEvent, type AuditEventInput, type EventQuery } from './types.ts';

export const DEFAULT_EVENT_LIMIT = 1000;
export const MAX_EVENT_LIMIT = 10_000;

export const EVENT_COLUMNS = 'seq, at, type, session_id, command_id, data, prev_hash, hash';

const knownTypes: ReadonlySet<string> = new Set(auditEventTypes);

/** An event the router builds wrongly is a bug: refused before anything is written. */
export function validateEventInput(input: AuditEventInput): void {
  const problem = !knownTypes.has(input.type)
    ? `type ${JSON.stringify(input.type)} is not an audit event type`
    : !isStringOrNull(input.sessionId)
      ? 'sessionId must be a string or null'
      : !isStringOrNull(input.commandId)
        ? 'commandId must be a string or null'
        : typeof input.data !== 'object' || input.data === null || Array.isArray(input.data)
          ? 'data must be a JSON object'
          : undefined;
  if (problem !== undefined) {
    throw new AirlockError('INTERNAL', `audit event: ${problem}`, { type: String(input.type) });
  }
}

function isStringOrNull(value: unknown): boolean {
  return value === null || typeof value === 'string';
}

export function eventFromRow(row: Row): AuditEvent {
  const read = columns(row, 'events');
  return {
    seq: read.number('seq'),
    at: read.text('at'),
    // As stored: a type this Airlock does not know still shows in tail and export.
    type: read.text('type') as AuditEvent['type'],
    sessionId: read.textOrNull('session_id'),
    commandId: read.textOrNull('command_id'),
    data: read.jsonObject('data'),
    prevHash: read.text('prev_hash'),
    hash: read.text('hash'),
  };
}

export interface EventReader {
  list(query: EventQuery): AuditEvent[];
}

/** Checks an event query from a caller; returns its bounds with defaults applied. */
export function checkEventQuery(query: EventQuery): { readonly afterSeq: number; readonly limit: number } {
  const afterSeq = query.afterSeq ?? 0;
  const limit = query.limit ?? DEFAULT_EVENT_LIMIT;
  for (const [field, value] of [
    ['afterSeq', afterSeq],
    ['beforeSeq', query.beforeSeq ?? 0],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new AirlockError('INVALID_ARGUMENT', `${field} must be a non-negative integer`, {
        field,
        value: String(value),
      });
    }
  }
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_EVENT_LIMIT) {
    throw new AirlockError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${MAX_EVENT_LIMIT}`, {
      field: 'limit',
      value: String(limit),
      max: MAX_EVENT_LIMIT,
    });
  }
  return { afterSeq, limit };
}

export function createEventReader(statement: (sql: string) => StatementSync): EventReader {
  return {
    list(query) {
      const { afterSeq, limit } = checkEventQuery(query);
      // An empty list of types matches nothing, never everything.
      if (query.types !== undefined && query.types.length === 0) return [];
      const conditions = ['seq > :afterSeq'];
      const params: Params = { afterSeq, limit };
      if (query.sessionId !== undefined) {
        conditions.push('session_id = :sessionId');
        params['sessionId'] = query.sessionId;
      }
      if (query.commandId !== undefined) {
        conditions.push('command_id = :commandId');
        params['commandId'] = query.commandId;
      }
      if (query.types !== undefined) {
        conditions.push('type IN (SELECT value FROM json_each(:types))');
        params['types'] = JSON.stringify(query.types);
      }
      if (query.beforeSeq !== undefined) {
        // The newest `limit` before it, read backwards and turned round: still oldest first.
        conditions.push('seq < :beforeSeq');
        params['beforeSeq'] = query.beforeSeq;
        const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY seq DESC LIMIT :limit`;
        return statement(sql).all(params).map(eventFromRow).reverse();
      }
      const sql = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY seq LIMIT :limit`;
      return statement(sql).all(params).map(eventFromRow);
    },
  };
}
