import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { AirlockError } from '../errors/index.ts';
import type { Params, Row } from './sqlite-rows.ts';

/**
 * The PostgreSQL side of the record⇄row mappings. Columns are named as in the SQLite store, so the
 * mappings of sqlite-rows.ts (which check every column's type on the way back) serve both stores;
 * this file only converts what PostgreSQL represents differently: bytea columns hold UTF-8 text, and
 * 64-bit integers arrive as numbers (refused past 2^53 rather than rounded).
 */

/** Columns that hold text an agent controls, stored as UTF-8 bytes (see pg-schema.ts). */
const BYTEA_COLUMNS = new Set(['command', 'stdout', 'stderr']);

const INT8_OID = 20;

function parseInt8(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new AirlockError('STORE_UNAVAILABLE', `store: the integer ${text} is beyond what Airlock reads`);
  }
  return value;
}

/**
 * Type parsers for this store's connections only: `pg.types.setTypeParser` would change every other
 * `pg` user in the process.
 */
export const pgTypes: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

/** A PostgreSQL row in the shape the shared mappings read: bytea back to text. */
export function rowOf(row: Record<string, unknown>): Row {
  const out: Row = {};
  for (const [name, value] of Object.entries(row)) {
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : (value as string | number | null);
  }
  return out;
}

/** Parameters of the shared mappings, as PostgreSQL values: bytea columns as UTF-8 bytes. */
export function pgValues(params: Params): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params)) {
    out[name] = BYTEA_COLUMNS.has(name) && typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  }
  return out;
}

/** An upsert of every column but `id`, with positional parameters in the order of `values`. */
export function pgUpsert(
  table: string,
  values: Record<string, unknown>,
): { text: string; values: unknown[] } {
  const names = Object.keys(values);
  const updates = names.filter((name) => name !== 'id').map((name) => `${name} = EXCLUDED.${name}`);
  return {
    text:
      `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, index) => `$${index + 1}`).join(', ')}) ` +
      `ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`,
    values: names.map((name) => values[name]),
  };
}

/** The database's clock as the store writes times: ISO 8601 UTC with milliseconds, like Date#toISOString. */
export const PG_NOW_ISO = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
