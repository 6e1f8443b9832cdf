import type { PoolClient } from 'pg';
import { AirlockError } from '../errors/index.ts';
import { accessTokenRoles, commandStates } from './types.ts';

/**
 * PostgreSQL schema migrations, in order: entry N brings a database from version N to N + 1, recorded
 * in `airlock_schema`. A published entry is never edited; a change is a new entry. The tables mirror the
 * SQLite store's (sqlite-schema.ts) so one set of record⇄row mappings serves both, with three choices of
 * PostgreSQL's own:
 * - times are ISO 8601 text (`COLLATE "C"`, so they sort as written whatever the database's locale):
 *   a record reads back exactly as it was written, which `timestamptz` would round and re-format;
 * - text an agent controls (a command, an output) is bytea holding UTF-8: PostgreSQL text cannot hold
 *   a NUL character, which a command or its output may contain;
 * - event data stays canonical JSON text, never jsonb, which would re-order keys and drop what the
 *   hash covers.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE sessions (
    id TEXT COLLATE "C" PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('active', 'ended')),
    driver TEXT NOT NULL,
    sandbox_id TEXT,
    spec TEXT NOT NULL,
    owner TEXT COLLATE "C" NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    last_active_at TEXT NOT NULL,
    expires_at TEXT,
    ended_at TEXT COLLATE "C",
    end_reason TEXT
  );
  CREATE INDEX sessions_by_state ON sessions (state, created_at);
  CREATE INDEX sessions_by_owner ON sessions (owner) WHERE state = 'active';

  -- Foreign keys are deferred to COMMIT: the records of one batch may arrive in any order.
  CREATE TABLE commands (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command BYTEA NOT NULL,
    state TEXT NOT NULL CHECK (state IN (${commandStates.map((state) => `'${state}'`).join(', ')})),
    background SMALLINT NOT NULL CHECK (background IN (0, 1)),
    decision TEXT CHECK (decision IN ('allow', 'ask', 'deny')),
    reasons TEXT NOT NULL,
    approval_id TEXT,
    exit_code INTEGER,
    signal TEXT,
    output_id TEXT,
    created_at TEXT COLLATE "C" NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_ms DOUBLE PRECISION
  );
  CREATE INDEX commands_by_session ON commands (session_id, created_at);
  CREATE INDEX commands_by_state ON commands (state);

  CREATE TABLE approvals (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command_id TEXT REFERENCES commands (id) DEFERRABLE INITIALLY DEFERRED,
    action TEXT NOT NULL CHECK (action IN ('command', 'write_file')),
    subject TEXT NOT NULL,
    parsed TEXT NOT NULL,
    reasons TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    created_at TEXT COLLATE "C" NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    remember SMALLINT NOT NULL CHECK (remember IN (0, 1))
  );
  CREATE INDEX approvals_by_status ON approvals (status, created_at);
  CREATE INDEX approvals_by_session ON approvals (session_id, created_at);

  CREATE TABLE outputs (
    id TEXT COLLATE "C" PRIMARY KEY,
    session_id TEXT COLLATE "C" NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command_id TEXT NOT NULL REFERENCES commands (id) DEFERRABLE INITIALLY DEFERRED,
    stdout BYTEA NOT NULL,
    stderr BYTEA NOT NULL,
    -- Characters of both streams, for the per-session budget (bytea has no character length).
    chars BIGINT NOT NULL CHECK (chars >= 0),
    stdout_total_bytes BIGINT NOT NULL CHECK (stdout_total_bytes >= 0),
    stderr_total_bytes BIGINT NOT NULL CHECK (stderr_total_bytes >= 0),
    created_at TEXT COLLATE "C" NOT NULL,
    -- Insertion order, the tie-breaker SQLite's rowid gives.
    ord BIGSERIAL NOT NULL
  );
  CREATE INDEX outputs_by_session ON outputs (session_id);

  -- The audit log. No foreign keys: an event outlives anything it mentions.
  CREATE TABLE events (
    seq BIGINT PRIMARY KEY CHECK (seq >= 1),
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    session_id TEXT COLLATE "C",
    command_id TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  );
  CREATE INDEX events_by_session ON events (session_id, seq);

  -- Append-only against mistakes, not against an attacker who can alter the schema (they can drop
  -- these triggers): the hash chain, the head and the signed checkpoints are what detect that.
  CREATE FUNCTION airlock_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '% rows are append-only', TG_TABLE_NAME; END $$;
  CREATE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION airlock_append_only();
  CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION airlock_append_only();

  -- The last appended event, updated in the same transaction. Appends lock this row (FOR UPDATE), which
  -- is what serialises writers from every node into one chain (see pg-store.ts).
  CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL CHECK (seq >= 0),
    hash TEXT NOT NULL
  );
  INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '');

  CREATE TABLE audit_checkpoints (
    seq BIGINT NOT NULL CHECK (seq >= 1),
    key_id TEXT COLLATE "C" NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, key_id)
  );
  CREATE INDEX audit_checkpoints_by_key ON audit_checkpoints (key_id, seq);
  CREATE TRIGGER audit_checkpoints_no_change BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION airlock_append_only();
  CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION airlock_append_only();
  `,
  `
  -- Control planes sharing this database (src/cluster). Heartbeats use the database's clock, so the
  -- nodes' own clocks never decide whether a node is lost.
  CREATE TABLE cluster_nodes (
    node_id TEXT COLLATE "C" PRIMARY KEY,
    advertise_url TEXT NOT NULL,
    -- The owner string its sessions carry (sessions.owner): one per run of the node.
    owner TEXT COLLATE "C" NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('live', 'lost', 'left')),
    started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL,
    lost_reason TEXT,
    sessions INTEGER NOT NULL DEFAULT 0,
    max_sessions INTEGER NOT NULL,
    memory_free_bytes BIGINT NOT NULL DEFAULT 0,
    memory_total_bytes BIGINT NOT NULL DEFAULT 0,
    -- This node's audit signing key (public half), authenticated with the cluster secret so a database
    -- writer cannot add a key that verify would trust.
    audit_key_id TEXT,
    audit_public_key TEXT,
    audit_key_mac TEXT
  );
  CREATE INDEX cluster_nodes_by_owner ON cluster_nodes (owner);

  -- Sessions being created: counted against the cluster-wide limit until their record is written.
  CREATE TABLE cluster_reservations (
    id TEXT COLLATE "C" PRIMARY KEY,
    node_id TEXT COLLATE "C" NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
  );
  `,
  `
  -- Egress approvals (a connection to a host off a session's allow-list, asked of a person) and scoped
  -- approvals (what "remember" may cover, offered with the request as JSON, and what the person chose;
  -- older requests offered nothing and chose nothing), as in the SQLite store's schema 3.
  ALTER TABLE approvals DROP CONSTRAINT approvals_action_check;
  ALTER TABLE approvals ADD CONSTRAINT approvals_action_check
    CHECK (action IN ('command', 'write_file', 'egress'));
  ALTER TABLE approvals ADD COLUMN grants TEXT NOT NULL DEFAULT '[]';
  ALTER TABLE approvals ADD COLUMN scope TEXT CHECK (scope IN ('command', 'program', 'host'));

  -- People's tokens (viewer, approver). Only a digest of each: a copy of the database grants nothing.
  CREATE TABLE access_tokens (
    id TEXT COLLATE "C" PRIMARY KEY,
    digest TEXT COLLATE "C" NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN (${accessTokenRoles.map((role) => `'${role}'`).join(', ')})),
    name TEXT NOT NULL,
    created_at TEXT COLLATE "C" NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    revoked_by TEXT
  );

  -- Every session's newest commands first, for the dashboard's live list and its paging.
  CREATE INDEX commands_by_created ON commands (created_at, id);
  `,
];

export const PG_SCHEMA_VERSION = migrations.length;

/** Key of the advisory lock that serialises migrations: nodes starting together migrate once. */
const MIGRATION_LOCK = 0x41_49_52_4c; // "AIRL"

/**
 * Brings the schema up to date in one transaction, under an advisory lock so that several control
 * planes starting at once migrate the database once. A database written by a newer Airlock is refused
 * rather than read with assumptions that may no longer hold.
 */
export async function migratePostgres(client: PoolClient, where: string): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS airlock_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)',
    );
    const row = (await client.query<{ version: number }>('SELECT version FROM airlock_schema WHERE id = 1'))
      .rows[0];
    const version = row?.version ?? 0;
    if (version > PG_SCHEMA_VERSION) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `store ${where} was written by a newer Airlock (schema version ${version}; this Airlock reads up to ${PG_SCHEMA_VERSION}): upgrade Airlock or use another database`,
        { store: where, schemaVersion: version, supportedVersion: PG_SCHEMA_VERSION },
      );
    }
    for (let next = version; next < PG_SCHEMA_VERSION; next++) {
      await client.query(migrations[next] ?? '');
    }
    await client.query(
      'INSERT INTO airlock_schema (id, version) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET version = $1',
      [PG_SCHEMA_VERSION],
    );
    await client.query('COMMIT');
    return version;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
