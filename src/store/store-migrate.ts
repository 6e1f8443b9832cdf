/**
 * Moves one control plane's history from its SQLite file into an empty PostgreSQL store, row for row:
 * the same ids, times and audit events with their own seq, hashes and signed checkpoints, so the chain
 * that verified in SQLite is the chain that verifies in PostgreSQL (re-appending the events instead
 * would give them new times and new hashes, and no signature would cover them any more).
 *
 * Refused: a source whose chain does not verify (copying it would launder the damage), a source with
 * open sessions (their control plane may still be running), and a target that already holds history
 * (two chains cannot be merged into one).
 */
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { PoolClient } from 'pg';
import { AirlockError } from '../errors/index.ts';
import type { AuditPublicKey } from './audit-checkpoint.ts';
import { pgValues } from './pg-rows.ts';
import { openPostgresStore } from './pg-store.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { CheckpointSummary } from './types.ts';

export interface MigrateOptions {
  /** The SQLite store file (resolved). */
  readonly from: string;
  /** The PostgreSQL URL. */
  readonly to: string;
  /** Keys whose checkpoints are checked on both sides (this machine's); empty: the chain only. */
  readonly trustedKeys: readonly AuditPublicKey[];
}

export interface MigrateReport {
  readonly rows: Readonly<Record<(typeof TABLES)[number], number>>;
  /** Events in the chain, verified in PostgreSQL after the copy. */
  readonly events: number;
  readonly lastHash: string;
  readonly checkpoints: CheckpointSummary;
}

/** In an order that keeps every reference pointing backwards; the events and checkpoints last. */
const TABLES = [
  'sessions',
  'commands',
  'approvals',
  'outputs',
  'access_tokens',
  'events',
  'audit_checkpoints',
] as const;
/** The tie-breaker column each table is read in, so outputs keep their insertion order. */
const ORDER: Readonly<Record<(typeof TABLES)[number], string>> = {
  sessions: 'rowid',
  commands: 'rowid',
  approvals: 'rowid',
  outputs: 'rowid',
  access_tokens: 'rowid',
  events: 'seq',
  audit_checkpoints: 'seq, key_id',
};

export async function migrateSqliteToPostgres(options: MigrateOptions): Promise<MigrateReport> {
  const source = await checkSource(options);
  const target = await openPostgresStore({ url: options.to });
  try {
    const db = new DatabaseSync(options.from, { readOnly: true });
    const rows = {
      sessions: 0,
      commands: 0,
      approvals: 0,
      outputs: 0,
      access_tokens: 0,
      events: 0,
      audit_checkpoints: 0,
    };
    try {
      await target.transaction('migrate from SQLite', async (client) => {
        // The head row is what every appender locks: nothing is appended while the copy runs.
        await client.query('SELECT seq FROM chain_head WHERE id = 1 FOR UPDATE');
        await assertEmpty(client, options.to);
        for (const table of TABLES) rows[table] = await copyTable(db, client, table);
        await client.query('UPDATE chain_head SET seq = $1, hash = $2 WHERE id = 1', [
          source.checked,
          source.lastHash,
        ]);
      });
    } finally {
      db.close();
    }
    const copied = await target.verify({ trustedKeys: options.trustedKeys });
    if (!copied.ok || copied.checked !== source.checked || copied.lastHash !== source.lastHash) {
      throw new AirlockError(
        'STORE_UNAVAILABLE',
        `the copy in ${redact(options.to)} does not verify like the source (${copied.ok ? `${copied.checked} events, head ${copied.lastHash}` : copied.message}); the source is unchanged`,
        { store: redact(options.to) },
      );
    }
    return { rows, events: copied.checked, lastHash: copied.lastHash, checkpoints: copied.checkpoints };
  } finally {
    await target.close();
  }
}

async function checkSource(options: MigrateOptions): Promise<{ checked: number; lastHash: string }> {
  if (!existsSync(options.from)) {
    throw new AirlockError('INVALID_ARGUMENT', `--from ${options.from}: no such store file`, {
      field: '--from',
    });
  }
  // Opening it as a store brings its schema up to date, so the columns read below are the current ones.
  const store = openSqliteStore({ path: options.from });
  try {
    const verified = await store.verify({ trustedKeys: options.trustedKeys });
    if (!verified.ok) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `--from ${options.from}: its audit log does not verify (seq ${verified.seq}: ${verified.message}); not copying a damaged chain`,
        { field: '--from' },
      );
    }
    const open = await store.listSessions({ state: 'active' });
    if (open.length > 0) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `--from ${options.from}: ${open.length} session(s) are still open (${open[0]?.id ?? ''}…): stop the airlock serve using it, ` +
          'start and stop it once more if it crashed (start-up closes what a crash left open), then migrate',
        { field: '--from' },
      );
    }
    return { checked: verified.checked, lastHash: verified.lastHash };
  } finally {
    await store.close();
  }
}

async function assertEmpty(client: PoolClient, url: string): Promise<void> {
  const counted = await client.query<{ n: number }>(
    'SELECT ((SELECT count(*) FROM events) + (SELECT count(*) FROM sessions))::int AS n',
  );
  if ((counted.rows[0]?.n ?? 0) > 0) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `--to ${redact(url)} already holds sessions or audit events: one audit chain cannot be merged into another; migrate into an empty database`,
      { field: '--to' },
    );
  }
}

async function copyTable(
  db: DatabaseSync,
  client: PoolClient,
  table: (typeof TABLES)[number],
): Promise<number> {
  let count = 0;
  // Row by row from an iterator: a store of any size is copied in bounded memory.
  for (const row of db.prepare(`SELECT * FROM ${table} ORDER BY ${ORDER[table]}`).iterate()) {
    const values: Record<string, unknown> = pgValues(row as Record<string, string | number | null>);
    if (table === 'outputs') {
      // The per-session output budget counts characters, which bytea cannot tell: kept beside them.
      values['chars'] = String(row['stdout'] ?? '').length + String(row['stderr'] ?? '').length;
    }
    const columns = Object.keys(values);
    await client.query(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
      Object.values(values),
    );
    count += 1;
  }
  return count;
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL store';
  }
}
