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

/** Parameters per statement at most: PostgreSQL's protocol counts them in 16 bits. */
const MAX_PARAMETERS = 65_535;

/**
 * The rows of a group of commits (pg-group-commit.ts) as few statements: one multi-row upsert per
 * table, each row once, as the last write of it left it. That is what upserting them one by one, in
 * order, leaves: each upsert replaces every column but `id`, and foreign keys are checked at COMMIT
 * (pg-schema.ts: DEFERRABLE INITIALLY DEFERRED), so neither the order of the tables nor of the rows
 * matters. PostgreSQL refuses a statement that upserts one row twice, hence each row once. A table
 * written with different columns in one group (not done today) is upserted row by row, in order.
 */
export function pgUpsertBatches(
  writes: readonly (readonly [string, Record<string, unknown>])[],
): { text: string; values: unknown[] }[] {
  const tables = new Map<string, { names: string[]; rows: Map<unknown, Record<string, unknown>> }>();
  for (const [table, values] of writes) {
    const names = Object.keys(values);
    const seen = tables.get(table);
    if (seen === undefined) {
      tables.set(table, { names, rows: new Map([[values['id'], values]]) });
      continue;
    }
    if (seen.names.join(',') !== names.join(',')) return writes.map(([name, row]) => pgUpsert(name, row));
    seen.rows.set(values['id'], values);
  }
  const statements: { text: string; values: unknown[] }[] = [];
  for (const [table, { names, rows }] of tables) {
    const all = [...rows.values()];
    const perStatement = Math.max(1, Math.floor(MAX_PARAMETERS / names.length));
    for (let start = 0; start < all.length; start += perStatement) {
      const slice = all.slice(start, start + perStatement);
      const values: unknown[] = [];
      const tuples = slice.map((row) => {
        const first = values.length;
        for (const name of names) values.push(row[name]);
        return `(${names.map((_, index) => `$${first + index + 1}`).join(', ')})`;
      });
      const updates = names.filter((name) => name !== 'id').map((name) => `${name} = EXCLUDED.${name}`);
      statements.push({
        text:
          `INSERT INTO ${table} (${names.join(', ')}) VALUES ${tuples.join(', ')} ` +
          `ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`,
        values,
      });
    }
  }
  return statements;
}

/** The database's clock as the store writes times: ISO 8601 UTC with milliseconds, like Date#toISOString. */
export const PG_NOW_ISO = `to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
