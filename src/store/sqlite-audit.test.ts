import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawDatabase } from './audit-test-support.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { alert, makeTempDir, type TempDir } from './test-support.ts';
import type { Store } from './types.ts';

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
  const raw = rawDatabase(path);
  raw.exec(sql);
  raw.close();
}

describe('audit chain in the SQLite store, across processes', () => {
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

  it('still detects deleted newest events after more events were appended (adversarial)', async () => {
    for (let i = 0; i < 10; i++) await store.commit({ events: [alert({ i })] });
    tamper(path, 'DELETE FROM events WHERE seq = 10');
    await store.commit({ events: [alert({ later: true })] });
    expect(await store.verify()).toMatchObject({ ok: false, seq: 10, problem: 'gap' });
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
});
