import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors/index.ts';
import { rawDatabase } from './audit-test-support.ts';
import { backupSqliteStore } from './sqlite-backup.ts';
import { SCHEMA_VERSION } from './sqlite-schema.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { command, makeTempDir, session, type TempDir } from './test-support.ts';
import type { Store } from './types.ts';

const dirs: TempDir[] = [];
const stores: Store[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const dir of dirs.splice(0)) dir.remove();
});

function tempDir(): string {
  const dir = makeTempDir();
  dirs.push(dir);
  return dir.path;
}

function open(path: string): Store {
  const store = openSqliteStore({ path });
  stores.push(store);
  return store;
}

/** A closed store file with one session and `count` audit events. */
async function storeWithEvents(dir: string, count: number): Promise<string> {
  const path = join(dir, 'airlock.db');
  const store = openSqliteStore({ path });
  await store.commit({ sessions: [session('s1')], commands: [command('c1', 's1')] });
  for (let n = 1; n <= count; n++) {
    await store.commit({
      events: [{ type: 'resource.alert', sessionId: 's1', commandId: null, data: { n } }],
    });
  }
  await store.close();
  return path;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error: unknown = await promise.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!isAirlockError(error)) throw new Error(`expected an AirlockError, got ${String(error)}`);
  return error.code;
}

/**
 * Another process appending audit events (each with an output row, so pages change all over the file)
 * as fast as it can, until killed. It prints "writing" after its first commit.
 */
function startWriter(path: string) {
  const storeModule = new URL('./index.ts', import.meta.url).pathname;
  const script = `
    import { openStore } from ${JSON.stringify(storeModule)};
    const store = openStore({ kind: 'sqlite', path: ${JSON.stringify(path)} }, { baseDir: '/' });
    const filler = 'x'.repeat(4000);
    for (let n = 0; ; n++) {
      const commandId = 'w' + n;
      await store.commit({
        commands: [{ id: commandId, sessionId: 's1', command: 'true', state: 'completed', background: false,
          decision: 'allow', reasons: [], approvalId: null, exitCode: 0, signal: null, outputId: 'o' + n,
          createdAt: new Date().toISOString(), startedAt: null, finishedAt: null, durationMs: null }],
        outputs: [{ id: 'o' + n, sessionId: 's1', commandId, stdout: filler + n, stderr: '',
          stdoutTotalBytes: 4000, stderrTotalBytes: 0, createdAt: new Date().toISOString() }],
        events: [{ type: 'output.stored', sessionId: 's1', commandId, data: { n } }],
      });
      if (n === 0) process.stdout.write('writing\\n');
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const writing = new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('writing')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`writer exited with ${code}: ${stderr}`)));
  });
  return { child, writing };
}

function lastSeq(path: string): number {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return Number(db.prepare('SELECT coalesce(max(seq), 0) AS last FROM events').get()?.['last']);
  } finally {
    db.close();
  }
}

describe('backupSqliteStore', () => {
  it('takes consistent copies while another process keeps committing, and each copy verifies', async () => {
    const dir = tempDir();
    const path = await storeWithEvents(dir, 10);
    // Some 16 MiB of outputs, so a copy takes long enough for the writer to commit during it.
    const big = 'y'.repeat(1024 * 1024);
    const store = openSqliteStore({ path });
    for (let n = 0; n < 16; n++) {
      await store.commit({
        commands: [command(`big${n}`, 's1')],
        outputs: [
          {
            id: `big-out${n}`,
            sessionId: 's1',
            commandId: `big${n}`,
            stdout: big,
            stderr: '',
            stdoutTotalBytes: big.length,
            stderrTotalBytes: 0,
            createdAt: '2025-01-01T00:00:02.000Z',
          },
        ],
      });
    }
    await store.close();
    const writer = startWriter(path);
    try {
      await writer.writing;
      const copies: Array<{ events: number; overlapped: boolean }> = [];
      for (let n = 0; n < 5; n++) {
        const before = lastSeq(path);
        const report = await backupSqliteStore(path, join(dir, `backup-${n}.db`));
        const after = lastSeq(path);
        copies.push({ events: report.events, overlapped: after > before });

        const copy = open(report.path);
        const verified = await copy.verify();
        expect(verified).toMatchObject({ ok: true, checked: report.events });
        expect(report.events).toBeGreaterThanOrEqual(before);
        expect(report.events).toBeLessThanOrEqual(after);
        // Every output the copy's events name is in the copy: rows and events come from one moment.
        const db = rawDatabase(report.path);
        const missing = db
          .prepare(
            "SELECT count(*) AS n FROM events e WHERE e.type = 'output.stored' AND e.command_id NOT IN (SELECT command_id FROM outputs)",
          )
          .get();
        db.close();
        expect(Number(missing?.['n'])).toBe(0);
      }
      expect(copies.length).toBe(5);
      // The point of the test: the writer committed while copies were being taken.
      expect(copies.some((copy) => copy.overlapped)).toBe(true);
      expect(lastSeq(path)).toBeGreaterThan(copies[0]?.events ?? Infinity);
    } finally {
      writer.child.kill('SIGKILL');
    }
  }, 60_000);

  it('writes one self-contained file, mode 0600, and leaves no temporary file behind', async () => {
    const dir = tempDir();
    const path = await storeWithEvents(dir, 3);
    const target = join(dir, 'copies', 'b.db');
    // The directory must exist: the backup does not guess where a mistyped path was meant to go.
    expect(await codeOf(backupSqliteStore(path, target))).toBe('INVALID_ARGUMENT');
    const copies = join(dir, 'copies');
    mkdirSync(copies);
    const report = await backupSqliteStore(path, target);
    expect(report).toMatchObject({ path: target, events: 3, schemaVersion: SCHEMA_VERSION });
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(copies)).toEqual(['b.db']);
    const db = new DatabaseSync(target, { readOnly: true });
    expect(db.prepare('PRAGMA journal_mode').get()?.['journal_mode']).toBe('delete');
    db.close();
  });

  it('never overwrites: not the live store, not an older backup (adversarial)', async () => {
    const dir = tempDir();
    const path = await storeWithEvents(dir, 3);
    const before = sha256(path);
    expect(await codeOf(backupSqliteStore(path, path))).toBe('INVALID_ARGUMENT');
    expect(sha256(path)).toBe(before);

    const older = join(dir, 'older.db');
    writeFileSync(older, 'an older backup');
    expect(await codeOf(backupSqliteStore(path, older))).toBe('INVALID_ARGUMENT');
    expect(readFileSync(older, 'utf8')).toBe('an older backup');
    expect(readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses what is not a store file: nothing there, an in-memory store, another SQLite file', async () => {
    const dir = tempDir();
    expect(await codeOf(backupSqliteStore(join(dir, 'none.db'), join(dir, 'b1.db')))).toBe(
      'STORE_UNAVAILABLE',
    );
    expect(await codeOf(backupSqliteStore(':memory:', join(dir, 'b2.db')))).toBe('INVALID_ARGUMENT');
    const other = join(dir, 'other.db');
    const db = new DatabaseSync(other);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(await codeOf(backupSqliteStore(other, join(dir, 'b3.db')))).toBe('INVALID_ARGUMENT');
    expect(readdirSync(dir).sort()).toEqual(['other.db']);
  });
});
