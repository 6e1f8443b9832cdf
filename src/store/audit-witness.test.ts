/**
 * The witness file outside the store: the sink that writes it (and survives failing to) and the
 * comparison verify makes, against a real SQLite store and real files.
 */
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditSigningKey } from './audit-checkpoint.ts';
import { createCheckpointer, type Checkpointer } from './audit-checkpointer.ts';
import { loadOrCreateAuditKey } from './audit-key.ts';
import { cutLog, rewriteChain, writeWitness } from './audit-test-support.ts';
import { withAuditTrail } from './audit-trail.ts';
import { verifyAudit } from './audit-verify.ts';
import { createWitnessSink, type WitnessEvent, type WitnessSink } from './audit-witness.ts';
import { compareWitness } from './audit-witness-check.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { alert, makeTempDir, type TempDir } from './test-support.ts';
import type { AuditEvent, Store } from './types.ts';

function witnessLines(path: string): Array<{ seq: number; hash: string; prevHash: string }> {
  return readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { seq: number; hash: string; prevHash: string });
}

describe('the audit witness', () => {
  let dir: TempDir;
  let storePath: string;
  let witnessPath: string;
  let inner: Store;
  let store: Store;
  let sink: WitnessSink;
  let reported: WitnessEvent[];
  let key: AuditSigningKey;
  let checkpointer: Checkpointer;

  function openTrail(path: string): void {
    reported = [];
    sink = createWitnessSink({ path, store: inner, onEvent: (event) => reported.push(event) });
    checkpointer = createCheckpointer({
      store: inner,
      key,
      everyEvents: 1_000_000,
      anchorPath: null,
      onEvent: () => undefined,
    });
    store = withAuditTrail(inner, { checkpointer, witness: sink, intervalMs: 60_000 });
  }

  beforeEach(() => {
    dir = makeTempDir();
    storePath = join(dir.path, 'store', 'airlock.db');
    witnessPath = join(dir.path, 'witness', 'audit.jsonl');
    mkdirSync(join(dir.path, 'witness'));
    inner = openSqliteStore({ path: storePath });
    key = loadOrCreateAuditKey(join(dir.path, 'audit-key'));
    openTrail(witnessPath);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  async function append(count: number): Promise<AuditEvent[]> {
    const all: AuditEvent[] = [];
    for (let i = 0; i < count; i++)
      all.push(...(await store.commit({ events: [alert({ i, text: `ü ${i}` })] })));
    return all;
  }

  const verify = (options: { witness?: string } = {}) =>
    verifyAudit(inner, { trustedKeys: [key], witnessPath: options.witness ?? witnessPath });

  it('writes every event as one line with its hash, including those another process appended', async () => {
    const ours = await append(5);
    // Another process (the CLI deciding an approval) writes to the store directly.
    await inner.commit({ events: [alert({ from: 'cli' })] });
    await append(2);
    await sink.flush();
    const lines = witnessLines(witnessPath);
    expect(lines.map((line) => line.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(lines.slice(0, 5).map((line) => line.hash)).toEqual(ours.map((event) => event.hash));
    expect(await verify()).toMatchObject({
      ok: true,
      witness: { path: witnessPath, records: 8, firstSeq: 1, lastSeq: 8, unwitnessedEvents: 0 },
    });
    expect(reported).toEqual([]);
  });

  it('starts by copying what the store already had, and resumes after its last line on restart', async () => {
    await inner.commit({ events: [alert({ n: 1 }), alert({ n: 2 })] });
    await append(1);
    await store.close();
    inner = openSqliteStore({ path: storePath });
    openTrail(witnessPath);
    await append(2);
    await sink.flush();
    expect(witnessLines(witnessPath).map((line) => line.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('keeps every commit when the witness cannot be written, reports it, and catches up later', async () => {
    await store.close();
    inner = openSqliteStore({ path: storePath });
    const missingDir = join(dir.path, 'not-yet');
    openTrail(join(missingDir, 'audit.jsonl'));
    const committed = await append(4);
    expect(committed.map((event) => event.seq)).toEqual([1, 2, 3, 4]);
    await sink.flush();
    expect(reported[0]).toMatchObject({ status: 'failed', retryInMs: 1000 });
    expect(String((reported[0] as { error: unknown }).error)).toMatch(/ENOENT/);
    expect(await inner.verify()).toMatchObject({ ok: true, checked: 4 });

    mkdirSync(missingDir);
    await append(1);
    await sink.flush();
    expect(reported.at(-1)).toEqual({ status: 'recovered', lastSeq: 5 });
    expect(witnessLines(join(missingDir, 'audit.jsonl')).map((line) => line.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses to continue a witness whose last event this store does not have (adversarial)', async () => {
    const foreign = (await append(3)).map((event) => ({ ...event, hash: 'f'.repeat(64) }));
    await sink.flush();
    writeWitness(witnessPath, foreign);
    await store.close();
    inner = openSqliteStore({ path: storePath });
    openTrail(witnessPath);
    await append(1);
    await sink.flush();
    expect(reported).toEqual([
      {
        status: 'refused',
        message: expect.stringMatching(/ends with event 3, which this store does not have/),
      },
    ]);
    expect(witnessLines(witnessPath)).toHaveLength(3);
  });

  it('detects events deleted from the store after the last checkpoint, which signatures cannot (adversarial)', async () => {
    await append(10);
    await checkpointer.checkpoint();
    await append(5);
    await sink.flush();
    cutLog(storePath, 13);
    const report = await verify();
    expect(report).toMatchObject({ ok: false, seq: 13, problem: 'witness-mismatch' });
    expect(report.ok === false && report.message).toMatch(/records event 13, which the store does not have/);
  });

  it('detects a witness line edited, and lines removed from its middle (adversarial)', async () => {
    await append(6);
    await sink.flush();
    const original = readFileSync(witnessPath, 'utf8');
    writeFileSync(witnessPath, original.replace('"ü 2"', '"ü two"'));
    expect(await verify()).toMatchObject({ ok: false, seq: 3, problem: 'witness-mismatch' });
    const lines = original.trimEnd().split('\n');
    writeFileSync(witnessPath, `${[...lines.slice(0, 2), ...lines.slice(3)].join('\n')}\n`);
    const report = await verify();
    expect(report).toMatchObject({ ok: false, seq: 4, problem: 'witness-mismatch' });
    expect(report.ok === false && report.message).toMatch(/does not follow event 2/);
  });

  it('reports a witness cut at its end as events not witnessed, not as tampering', async () => {
    await append(6);
    await sink.flush();
    const lines = readFileSync(witnessPath, 'utf8').trimEnd().split('\n');
    writeFileSync(witnessPath, `${lines.slice(0, 4).join('\n')}\n`);
    expect(await verify()).toMatchObject({
      ok: true,
      witness: { records: 4, lastSeq: 4, unwitnessedEvents: 2 },
    });
  });

  it('a witness and a store rewritten to agree with each other are caught by the signatures (adversarial)', async () => {
    await append(12);
    await checkpointer.checkpoint();
    await sink.flush();
    const rebuilt = rewriteChain(storePath, (all) => all.filter((event) => event.seq !== 4).slice(0, 9));
    writeWitness(witnessPath, rebuilt);
    const agreed = await compareWitness(
      witnessPath,
      (afterSeq, limit) => inner.listEvents({ afterSeq, limit }),
      9,
    );
    expect(agreed).toMatchObject({ ok: true, summary: { records: 9, unwitnessedEvents: 0 } });
    expect(await verify()).toMatchObject({ ok: false, seq: 12, problem: 'checkpoint-beyond-head' });
    // Nor can they wait for the next checkpoint to bless the rewritten chain.
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'refused', seq: 12 });
  });

  it('reports a record cut off mid-write as a damaged line, and keeps later records whole', async () => {
    await append(2);
    await sink.flush();
    appendFileSync(witnessPath, '{"seq":3,"at":"2025-');
    await store.close();
    inner = openSqliteStore({ path: storePath });
    openTrail(witnessPath);
    await append(1);
    await sink.flush();
    const text = readFileSync(witnessPath, 'utf8');
    expect(text.split('\n')[2]).toBe('{"seq":3,"at":"2025-');
    expect(JSON.parse(text.split('\n')[3] ?? '')).toMatchObject({ seq: 3 });
    const report = await verify();
    expect(report).toMatchObject({ ok: false, seq: 3, problem: 'witness-mismatch' });
    expect(report.ok === false && report.message).toMatch(/line 3 is not an event record/);
  });
});
