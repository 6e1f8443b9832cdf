import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import { hashEvent } from './audit-chain.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { VERIFY_PAGE_SIZE } from './sqlite-verify.ts';
import { alert, approval, makeTempDir, session, type TempDir } from './test-support.ts';
import type { AuditEvent, Store } from './types.ts';

const storeModule = pathToFileURL(join(import.meta.dirname, 'sqlite-store.ts')).href;

/**
 * A child process that appends `count` batches (or forever when count is 0), printing "ready" after one.
 * It pauses between commits as a real writer does: SQLite's busy handler backs off in steps of
 * milliseconds, so a writer that never pauses starves the other until its busy timeout.
 */
function appenderScript(dir: string): string {
  const file = join(dir, 'appender.mjs');
  writeFileSync(
    file,
    `const { openSqliteStore } = await import(process.argv[2]);
const store = openSqliteStore({ path: process.argv[3] });
const count = Number(process.argv[4]);
const batchSize = Number(process.argv[5]);
for (let i = 1; count === 0 || i <= count; i++) {
  const events = Array.from({ length: batchSize }, (_, j) => ({
    type: 'resource.alert', sessionId: null, commandId: null, data: { from: 'child', i, j, padding: 'x'.repeat(500) },
  }));
  await store.commit({ events });
  if (i === 1) process.stdout.write('ready\\n');
  await new Promise((resolve) => setTimeout(resolve, 1));
}
await store.close();
`,
  );
  return file;
}

function startAppender(dir: string, path: string, count: number, batchSize: number) {
  const script = appenderScript(dir);
  const child = spawn(process.execPath, [script, storeModule, path, String(count), String(batchSize)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.on('exit', () => reject(new Error(`appender exited before it was ready: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>(
    (resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, ready, exited };
}

/** A raw connection, as someone with write access to the file has, with the append-only guards dropped. */
function tamper(path: string, sql: string): void {
  const raw = new DatabaseSync(path);
  raw.exec('DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;');
  raw.exec(sql);
  raw.close();
}

async function appendMany(store: Store, commits: number, perCommit: number): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (let i = 0; i < commits; i++) {
    const events = Array.from({ length: perCommit }, (_, j) => alert({ i, j, text: `cmd ${i}/${j} 😀` }));
    all.push(...(await store.commit({ events })));
  }
  return all;
}

describe('audit chain in the SQLite store', () => {
  let dir: TempDir;
  let path: string;
  let store: Store;

  beforeEach(() => {
    dir = makeTempDir();
    path = join(dir.path, 'airlock.db');
    store = openSqliteStore({ path });
  });

  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('verifies an empty log and a log longer than one verify page', async () => {
    const noCheckpoints = { signaturesChecked: false, verified: 0, lastSeq: 0, keyIds: [] };
    expect(await store.verify()).toEqual({
      ok: true,
      checked: 0,
      lastHash: '',
      checkpoints: { ...noCheckpoints, unsignedEvents: 0 },
    });
    const events = await appendMany(store, 301, 4);
    expect(events.length).toBeGreaterThan(VERIFY_PAGE_SIZE);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
    expect(await store.verify()).toEqual({
      ok: true,
      checked: events.length,
      lastHash: events.at(-1)?.hash,
      checkpoints: { ...noCheckpoints, unsignedEvents: events.length },
    });
  });

  it('recomputes each stored hash from the event (a second implementation agrees)', async () => {
    const events = await appendMany(store, 3, 2);
    let prevHash = '';
    for (const event of await store.listEvents()) {
      expect(event.prevHash).toBe(prevHash);
      expect(hashEvent(prevHash, event)).toBe(event.hash);
      prevHash = event.hash;
    }
    expect(prevHash).toBe(events.at(-1)?.hash);
  });

  it('refuses an ordinary UPDATE or DELETE of an event (append-only guard)', async () => {
    await appendMany(store, 2, 1);
    const raw = new DatabaseSync(path);
    try {
      expect(() => raw.exec('UPDATE events SET data = \'{"x":1}\' WHERE seq = 1')).toThrow(/append-only/);
      expect(() => raw.exec('DELETE FROM events WHERE seq = 2')).toThrow(/append-only/);
    } finally {
      raw.close();
    }
    expect(await store.verify()).toMatchObject({ ok: true, checked: 2 });
  });

  describe('tampering', () => {
    beforeEach(async () => {
      await appendMany(store, 10, 1);
    });

    it('detects an edited event as hash-mismatch at its seq', async () => {
      tamper(path, `UPDATE events SET data = '{"command":"rm -rf /"}' WHERE seq = 5`);
      expect(await store.verify()).toMatchObject({ ok: false, seq: 5, problem: 'hash-mismatch', checked: 4 });
    });

    it('detects an edited time or type too: every hashed field counts', async () => {
      tamper(path, `UPDATE events SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 3`);
      expect(await store.verify()).toMatchObject({ ok: false, seq: 3, problem: 'hash-mismatch' });
    });

    it('detects an edit that also recomputes that event hash as chain-broken at the next seq', async () => {
      const [event] = await store.listEvents({ afterSeq: 4, limit: 1 });
      if (event === undefined) throw new Error('no event 5');
      const forged = { ...event, data: { command: 'innocent' } };
      tamper(
        path,
        `UPDATE events SET data = '{"command":"innocent"}', hash = '${hashEvent(event.prevHash, forged)}' WHERE seq = 5`,
      );
      expect(await store.verify()).toMatchObject({ ok: false, seq: 6, problem: 'chain-broken' });
    });

    it('detects a deleted middle event as a gap', async () => {
      tamper(path, 'DELETE FROM events WHERE seq = 5');
      expect(await store.verify()).toMatchObject({ ok: false, seq: 5, problem: 'gap' });
    });

    it('detects deleted newest events through the chain head', async () => {
      tamper(path, 'DELETE FROM events WHERE seq >= 9');
      expect(await store.verify()).toMatchObject({ ok: false, seq: 9, problem: 'gap', checked: 8 });
    });

    it('still detects deleted newest events after more events were appended', async () => {
      tamper(path, 'DELETE FROM events WHERE seq = 10');
      await store.commit({ events: [alert({ later: true })] });
      expect(await store.verify()).toMatchObject({ ok: false, seq: 10, problem: 'gap' });
    });

    it('detects unreadable event data', async () => {
      tamper(path, `UPDATE events SET data = 'not json' WHERE seq = 2`);
      expect(await store.verify()).toMatchObject({ ok: false, seq: 2, problem: 'unreadable' });
    });

    it('detects an event appended behind the store back, and refuses to append after it', async () => {
      const [last] = await store.listEvents({ afterSeq: 9 });
      if (last === undefined) throw new Error('no event 10');
      const fields = {
        seq: 11,
        at: last.at,
        type: 'resource.alert' as const,
        sessionId: null,
        commandId: null,
        data: {},
      };
      const hash = hashEvent(last.hash, fields);
      tamper(
        path,
        `INSERT INTO events VALUES (11, '${last.at}', 'resource.alert', NULL, NULL, '{}', '${last.hash}', '${hash}')`,
      );
      expect(await store.verify()).toMatchObject({ ok: false, seq: 11, problem: 'chain-broken' });
      const error = await store.commit({ events: [alert()] }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(AirlockError);
      expect((error as AirlockError).code).toBe('STORE_UNAVAILABLE');
    });
  });

  it('keeps one chain when two store instances on one file append alternately', async () => {
    const other = openSqliteStore({ path });
    try {
      for (let i = 0; i < 50; i++) {
        await store.commit({ events: [alert({ from: 'a', i })] });
        await other.commit({ events: [alert({ from: 'b', i }), alert({ from: 'b', i, second: true })] });
      }
      const events = await other.listEvents({ limit: 10_000 });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, index) => index + 1));
      expect(events).toHaveLength(150);
      expect(await store.verify()).toMatchObject({ ok: true, checked: 150 });
    } finally {
      await other.close();
    }
  });

  it('keeps one chain with no duplicate seq while a child process appends concurrently', async () => {
    const appender = startAppender(dir.path, path, 150, 1);
    await appender.ready;
    for (let i = 0; i < 150; i++) {
      await store.commit({ events: [alert({ from: 'parent', i })] });
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const result = await appender.exited;
    expect(result, result.stderr).toMatchObject({ code: 0 });
    const events = await store.listEvents({ limit: 10_000 });
    expect(events).toHaveLength(300);
    expect(new Set(events.map((e) => e.seq)).size).toBe(300);
    expect(events.filter((e) => e.data['from'] === 'child')).toHaveLength(150);
    expect(await store.verify()).toMatchObject({ ok: true, checked: 300 });
  });

  it('survives kill -9 of an appending process: a new store on the file verifies and appends', async () => {
    await store.close();
    // Large batches make it likely that the kill lands inside a transaction.
    const batchSize = 200;
    const appender = startAppender(dir.path, path, 0, batchSize);
    await appender.ready;
    await new Promise((resolve) => setTimeout(resolve, 150));
    appender.child.kill('SIGKILL');
    expect(await appender.exited).toMatchObject({ signal: 'SIGKILL' });

    store = openSqliteStore({ path });
    const before = await store.verify();
    expect(before).toMatchObject({ ok: true });
    if (!before.ok) throw new Error(before.message);
    expect(before.checked).toBeGreaterThan(0);
    // No part of a batch survives without the rest of it.
    expect(before.checked % batchSize).toBe(0);
    const [next] = await store.commit({ events: [alert({ after: 'crash' })] });
    expect(next?.seq).toBe(before.checked + 1);
    expect(next?.prevHash).toBe(before.lastHash);
    expect(await store.verify()).toMatchObject({ ok: true, checked: before.checked + 1 });
  });

  describe('decideApproval', () => {
    beforeEach(async () => {
      await store.commit({ sessions: [session('s1')], approvals: [approval('a1', 's1')] });
    });

    const decidedEvent = (updated: { id: string; status: string; sessionId: string }) => ({
      type: 'approval.decided' as const,
      sessionId: updated.sessionId,
      commandId: null,
      data: { approvalId: updated.id, status: updated.status },
    });

    it('lets exactly one of two deciders on two store instances win', async () => {
      const other = openSqliteStore({ path });
      try {
        const [first, second] = await Promise.all([
          store.decideApproval(
            'a1',
            { status: 'approved', decidedBy: 'alice', reason: null, remember: true, scope: null },
            decidedEvent,
          ),
          other.decideApproval(
            'a1',
            { status: 'denied', decidedBy: 'bob', reason: 'no', remember: false, scope: null },
            decidedEvent,
          ),
        ]);
        expect(first).toMatchObject({ status: 'approved', decidedBy: 'alice', remember: true });
        expect(first?.decidedAt).not.toBeNull();
        // The loser sees the winner's decision, unchanged.
        expect(second).toStrictEqual(first);
        expect(await store.getApproval('a1')).toStrictEqual(first);
        const decided = await store.listEvents({ types: ['approval.decided'] });
        expect(decided.map((e) => e.data)).toEqual([{ approvalId: 'a1', status: 'approved' }]);
      } finally {
        await other.close();
      }
    });

    it('returns null for an unknown approval and appends nothing', async () => {
      const decision = {
        status: 'approved',
        decidedBy: 'alice',
        reason: null,
        remember: false,
        scope: null,
      } as const;
      expect(await store.decideApproval('nope', decision, decidedEvent)).toBeNull();
      expect(await store.listEvents()).toEqual([]);
    });

    it('rolls the decision back when building its event fails', async () => {
      const decision = {
        status: 'approved',
        decidedBy: 'alice',
        reason: null,
        remember: false,
        scope: null,
      } as const;
      const failed = await store
        .decideApproval('a1', decision, () => {
          throw new AirlockError('INTERNAL', 'event builder broke');
        })
        .catch((caught: unknown) => caught);
      expect((failed as AirlockError).code).toBe('INTERNAL');
      expect(await store.getApproval('a1')).toMatchObject({ status: 'pending', decidedBy: null });
      expect(await store.listEvents()).toEqual([]);
    });
  });
});
