/**
 * A group of commits as statements: one upsert per table whatever the number of rows, each row once
 * with its last write (PostgreSQL refuses a statement that upserts a row twice), and row-by-row
 * upserts, in order, when a table comes with different columns.
 */
import { describe, expect, it } from 'vitest';
import { pgUpsertBatches } from './pg-rows.ts';

describe('pgUpsertBatches', () => {
  it('writes each table in one statement, each row once as its last write left it', () => {
    const statements = pgUpsertBatches([
      ['sessions', { id: 's1', state: 'active' }],
      ['commands', { id: 'c1', state: 'running' }],
      ['commands', { id: 'c2', state: 'running' }],
      ['commands', { id: 'c1', state: 'completed' }],
      ['sessions', { id: 's1', state: 'ended' }],
    ]);
    expect(statements.map((statement) => statement.text)).toEqual([
      'INSERT INTO sessions (id, state) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state',
      'INSERT INTO commands (id, state) VALUES ($1, $2), ($3, $4) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state',
    ]);
    expect(statements.map((statement) => statement.values)).toEqual([
      ['s1', 'ended'],
      ['c1', 'completed', 'c2', 'running'],
    ]);
  });

  it('splits a table past the parameters one statement may carry', () => {
    const names = Array.from({ length: 100 }, (_, index) => `col${index}`);
    const rows = Array.from({ length: 700 }, (_, index) => ({
      id: `r${index}`,
      ...Object.fromEntries(names.map((name) => [name, index])),
    }));
    const statements = pgUpsertBatches(rows.map((row) => ['outputs', row] as const));
    expect(statements.length).toBeGreaterThan(1);
    expect(statements.every((statement) => statement.values.length <= 65_535)).toBe(true);
    expect(statements.reduce((total, statement) => total + statement.values.length, 0)).toBe(700 * 101);
  });

  it('falls back to one upsert per write, in order, when a table comes with different columns', () => {
    const statements = pgUpsertBatches([
      ['commands', { id: 'c1', state: 'running' }],
      ['commands', { id: 'c1', state: 'completed', exit_code: 0 }],
    ]);
    expect(statements.map((statement) => statement.values)).toEqual([
      ['c1', 'running'],
      ['c1', 'completed', 0],
    ]);
  });
});
