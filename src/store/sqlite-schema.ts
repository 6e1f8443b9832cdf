import type { DatabaseSync } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { accessTokenRoles, commandStates } from './types.ts';

/**
 * Schema migrations, in order: entry N brings a store from `user_version` N to N + 1. A published entry
 * is never edited; a change is a new entry. Tables are STRICT so a value of the wrong type is refused
 * instead of being stored as whatever SQLite coerces it to.
 */
const migrations: readonly string[] = [
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'ended')),
    driver TEXT NOT NULL,
    sandbox_id TEXT,
    spec TEXT NOT NULL,
    owner TEXT NOT NULL,
    created_at TEXT NOT NULL,
    last_active_at TEXT NOT NULL,
    expires_at TEXT,
    ended_at TEXT,
    end_reason TEXT
  ) STRICT;
  CREATE INDEX sessions_by_state ON sessions (state, created_at);

  -- Foreign keys are deferred to COMMIT: the records of one batch may arrive in any order.
  CREATE TABLE commands (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN (${commandStates.map((state) => `'${state}'`).join(', ')})),
    background INTEGER NOT NULL CHECK (background IN (0, 1)),
    decision TEXT CHECK (decision IN ('allow', 'ask', 'deny')),
    reasons TEXT NOT NULL,
    approval_id TEXT,
    exit_code INTEGER,
    signal TEXT,
    output_id TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_ms REAL
  ) STRICT;
  CREATE INDEX commands_by_session ON commands (session_id, created_at);
  CREATE INDEX commands_by_state ON commands (state);

  CREATE TABLE approvals (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command_id TEXT REFERENCES commands (id) DEFERRABLE INITIALLY DEFERRED,
    action TEXT NOT NULL CHECK (action IN ('command', 'write_file')),
    subject TEXT NOT NULL,
    parsed TEXT NOT NULL,
    reasons TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    remember INTEGER NOT NULL CHECK (remember IN (0, 1))
  ) STRICT;
  CREATE INDEX approvals_by_status ON approvals (status, created_at);
  CREATE INDEX approvals_by_session ON approvals (session_id, created_at);

  CREATE TABLE outputs (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command_id TEXT NOT NULL REFERENCES commands (id) DEFERRABLE INITIALLY DEFERRED,
    stdout TEXT NOT NULL,
    stderr TEXT NOT NULL,
    stdout_total_bytes INTEGER NOT NULL CHECK (stdout_total_bytes >= 0),
    stderr_total_bytes INTEGER NOT NULL CHECK (stderr_total_bytes >= 0),
    created_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX outputs_by_session ON outputs (session_id);

  -- The audit log. No foreign keys: an event outlives anything it mentions and may name a session that
  -- was refused before it was stored.
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY NOT NULL CHECK (seq >= 1),
    at TEXT NOT NULL,
    type TEXT NOT NULL,
    session_id TEXT,
    command_id TEXT,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE INDEX events_by_session ON events (session_id, seq);

  -- Append-only against mistakes, not against an attacker who can write the file (they can drop these
  -- triggers): the hash chain and the head below are what detect that.
  CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
  CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

  -- The last appended event, written in the same transaction as the event: deleting the newest events
  -- leaves the head pointing past them, so verify sees the loss.
  CREATE TABLE chain_head (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq INTEGER NOT NULL CHECK (seq >= 0),
    hash TEXT NOT NULL
  ) STRICT;
  INSERT INTO chain_head (id, seq, hash) VALUES (1, 0, '');
  `,
  `
  -- Signed heads of the audit chain (see audit-checkpoint.ts). The signature, made with a key kept
  -- outside this file, is what protects them; the triggers only stop mistakes, like those on events.
  -- A signer checkpoints a head once: (seq, key_id) is unique.
  CREATE TABLE audit_checkpoints (
    seq INTEGER NOT NULL CHECK (seq >= 1),
    key_id TEXT NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    signature TEXT NOT NULL,
    PRIMARY KEY (seq, key_id)
  ) STRICT;
  CREATE INDEX audit_checkpoints_by_key ON audit_checkpoints (key_id, seq);
  CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
  CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
  `,
  `
  -- Egress approvals (a connection to a host off a session's allow-list, asked of a person) and scoped
  -- approvals (what "remember" may cover, offered with the request as JSON, and what the person chose;
  -- older requests offered nothing and chose nothing). SQLite cannot change a CHECK constraint in
  -- place, so the table is copied into one that allows both.
  CREATE TABLE approvals_v3 (
    id TEXT PRIMARY KEY NOT NULL,
    session_id TEXT NOT NULL REFERENCES sessions (id) DEFERRABLE INITIALLY DEFERRED,
    command_id TEXT REFERENCES commands (id) DEFERRABLE INITIALLY DEFERRED,
    action TEXT NOT NULL CHECK (action IN ('command', 'write_file', 'egress')),
    subject TEXT NOT NULL,
    parsed TEXT NOT NULL,
    reasons TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    decided_at TEXT,
    decided_by TEXT,
    decision_reason TEXT,
    remember INTEGER NOT NULL CHECK (remember IN (0, 1)),
    grants TEXT NOT NULL DEFAULT '[]',
    scope TEXT CHECK (scope IN ('command', 'program', 'host'))
  ) STRICT;
  INSERT INTO approvals_v3 (id, session_id, command_id, action, subject, parsed, reasons, status,
      created_at, expires_at, decided_at, decided_by, decision_reason, remember)
    SELECT id, session_id, command_id, action, subject, parsed, reasons, status,
      created_at, expires_at, decided_at, decided_by, decision_reason, remember FROM approvals;
  DROP TABLE approvals;
  ALTER TABLE approvals_v3 RENAME TO approvals;
  CREATE INDEX approvals_by_status ON approvals (status, created_at);
  CREATE INDEX approvals_by_session ON approvals (session_id, created_at);
  `,
  `
  -- People's tokens (viewer, approver). Only a digest of each: a copy of the file grants nothing.
  CREATE TABLE access_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN (${accessTokenRoles.map((role) => `'${role}'`).join(', ')})),
    name TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    expires_at TEXT,
    revoked_at TEXT,
    revoked_by TEXT
  ) STRICT;

  -- Every session's newest commands first, for the dashboard's live list and its paging.
  CREATE INDEX commands_by_created ON commands (created_at, id);
  `,
];

export const SCHEMA_VERSION = migrations.length;

/**
 * Brings the schema up to date inside one IMMEDIATE transaction, re-reading the version once the write
 * lock is held so two processes opening a new store at once migrate it once. A store written by a newer
 * Airlock is refused rather than read with assumptions that may no longer hold.
 */
export function migrate(db: DatabaseSync, path: string): void {
  if (readVersion(db, path) === SCHEMA_VERSION) return;
  db.exec('BEGIN IMMEDIATE');
  try {
    const version = readVersion(db, path);
    for (let next = version; next < SCHEMA_VERSION; next++) {
      db.exec(migrations[next] ?? '');
    }
    // PRAGMA does not take bound parameters; SCHEMA_VERSION is an integer we own.
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

function readVersion(db: DatabaseSync, path: string): number {
  const row = db.prepare('PRAGMA user_version').get();
  const version = row?.['user_version'];
  if (typeof version !== 'number') {
    throw new AirlockError('STORE_UNAVAILABLE', `store ${path}: cannot read the schema version`, { path });
  }
  if (version > SCHEMA_VERSION) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `store ${path} was written by a newer Airlock (schema version ${version}; this Airlock reads up to ${SCHEMA_VERSION}): upgrade Airlock or use another store`,
      { path, schemaVersion: version, supportedVersion: SCHEMA_VERSION },
    );
  }
  if (version < 0) {
    throw new AirlockError('STORE_UNAVAILABLE', `store ${path}: schema version ${version} is not valid`, {
      path,
      schemaVersion: version,
    });
  }
  return version;
}
