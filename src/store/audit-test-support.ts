import { writeFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { hashEvent } from './audit-chain.ts';
import { auditEventJson } from './audit-export.ts';
import { canonicalJson } from './canonical-json.ts';
import type { AuditEvent, JsonObject } from './types.ts';

/**
 * What an attacker with write access to the database file (but not to the signing key) can do, for the
 * audit suites; not part of the store's public surface.
 */

/** A raw connection with the append-only guards dropped, as such an attacker starts. */
export function rawDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  for (const row of db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'").all()) {
    db.exec(`DROP TRIGGER "${String(row['name'])}"`);
  }
  return db;
}

export function storedEvents(db: DatabaseSync): AuditEvent[] {
  return db
    .prepare('SELECT seq, at, type, session_id, command_id, data, prev_hash, hash FROM events ORDER BY seq')
    .all()
    .map((row) => ({
      seq: Number(row['seq']),
      at: String(row['at']),
      type: String(row['type']) as AuditEvent['type'],
      sessionId: row['session_id'] === null ? null : String(row['session_id']),
      commandId: row['command_id'] === null ? null : String(row['command_id']),
      data: JSON.parse(String(row['data'])) as JsonObject,
      prevHash: String(row['prev_hash']),
      hash: String(row['hash']),
    }));
}

/** Deletes events from `fromSeq` on and points the stored head at the event before: a cut log. */
export function cutLog(path: string, fromSeq: number, { dropCheckpoints = false } = {}): void {
  const db = rawDatabase(path);
  try {
    db.prepare('DELETE FROM events WHERE seq >= ?').run(fromSeq);
    if (dropCheckpoints) db.prepare('DELETE FROM audit_checkpoints WHERE seq >= ?').run(fromSeq);
    const last = db.prepare('SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1').get();
    db.prepare('UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1').run(
      Number(last?.['seq'] ?? 0),
      String(last?.['hash'] ?? ''),
    );
  } finally {
    db.close();
  }
}

/**
 * Rebuilds the whole chain after `edit` (which may drop or change events): renumbered from 1, every
 * hash recomputed, the head rewritten. Every hash check passes afterwards; only a signature made
 * before, or a copy kept outside the store, can tell. Returns the rewritten events.
 */
export function rewriteChain(
  path: string,
  edit: (events: AuditEvent[]) => AuditEvent[],
  { dropCheckpoints = false } = {},
): AuditEvent[] {
  const db = rawDatabase(path);
  try {
    const kept = edit(storedEvents(db));
    let prevHash = '';
    const rebuilt = kept.map((event, index) => {
      const fields = { ...event, seq: index + 1 };
      const hash = hashEvent(prevHash, fields);
      const next: AuditEvent = { ...fields, prevHash, hash };
      prevHash = hash;
      return next;
    });
    db.exec('BEGIN');
    db.exec('DELETE FROM events');
    if (dropCheckpoints) db.exec('DELETE FROM audit_checkpoints');
    const insert = db.prepare(
      'INSERT INTO events (seq, at, type, session_id, command_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const event of rebuilt) {
      insert.run(
        event.seq,
        event.at,
        event.type,
        event.sessionId,
        event.commandId,
        canonicalJson(event.data),
        event.prevHash,
        event.hash,
      );
    }
    db.prepare('UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1').run(
      rebuilt.at(-1)?.seq ?? 0,
      rebuilt.at(-1)?.hash ?? '',
    );
    db.exec('COMMIT');
    return rebuilt;
  } finally {
    db.close();
  }
}

/** Writes events as a witness file, the way the sink does, replacing what was there. */
export function writeWitness(path: string, events: readonly AuditEvent[]): void {
  writeFileSync(path, events.map((event) => `${auditEventJson(event)}\n`).join(''), { mode: 0o600 });
}
