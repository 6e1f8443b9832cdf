/**
 * Signed checkpoints against an attacker who can write the database file but not read the key: a real
 * SQLite store, the real checkpointer, and the tampering done with a raw connection as such an
 * attacker would.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditAnchorPath } from './audit-anchor.ts';
import { signCheckpoint, type AuditSigningKey } from './audit-checkpoint.ts';
import { createCheckpointer, type Checkpointer, type CheckpointerEvent } from './audit-checkpointer.ts';
import { loadOrCreateAuditKey } from './audit-key.ts';
import { cutLog, rawDatabase, rewriteChain } from './audit-test-support.ts';
import { withAuditTrail } from './audit-trail.ts';
import { verifyAudit } from './audit-verify.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { alert, makeTempDir, type TempDir } from './test-support.ts';
import type { Store } from './types.ts';

describe('signed checkpoints of the audit chain', () => {
  let dir: TempDir;
  let path: string;
  let anchorPath: string;
  let store: Store;
  let key: AuditSigningKey;
  let events: CheckpointerEvent[];
  let checkpointer: Checkpointer;

  beforeEach(() => {
    dir = makeTempDir();
    path = join(dir.path, 'airlock.db');
    anchorPath = auditAnchorPath(dir.path, path);
    store = openSqliteStore({ path });
    key = loadOrCreateAuditKey(join(dir.path, 'audit-key'));
    events = [];
    checkpointer = createCheckpointer({
      store,
      key,
      everyEvents: 10,
      anchorPath,
      onEvent: (event) => events.push(event),
    });
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  async function append(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await store.commit({ events: [alert({ i, text: `cmd ${i} 😀` })] });
  }

  /** Appends, then signs the head: a log whose first `count` events are under a signature. */
  async function signedLog(count: number): Promise<void> {
    await append(count);
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'signed', checkpoint: { seq: count } });
  }

  const verify = (options: { keys?: readonly AuditSigningKey[]; anchor?: boolean } = {}) =>
    verifyAudit(store, {
      trustedKeys: options.keys ?? [key],
      ...(options.anchor === false ? {} : { anchorPath }),
    });

  it('verifies a clean log and says which events only the hash chain covers', async () => {
    await signedLog(20);
    await append(5);
    expect(await verify()).toEqual({
      ok: true,
      checked: 25,
      lastHash: (await store.listEvents({ afterSeq: 24 }))[0]?.hash,
      checkpoints: {
        signaturesChecked: true,
        verified: 1,
        lastSeq: 20,
        unsignedEvents: 5,
        keyIds: [key.keyId],
      },
      anchor: { path: anchorPath, seq: 20 },
      witness: null,
    });
    expect(JSON.parse(readFileSync(anchorPath, 'utf8'))).toMatchObject({ seq: 20, keyId: key.keyId });
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'signed', checkpoint: { seq: 25 } });
    expect(await checkpointer.checkpoint()).toEqual({ status: 'nothing-new', seq: 25 });
    expect(await verify()).toMatchObject({ ok: true, checkpoints: { verified: 2, unsignedEvents: 0 } });
  });

  it('detects events deleted and the stored head rewritten to match (adversarial)', async () => {
    await signedLog(20);
    // The stored head names the new last event, so the hash chain alone is satisfied: what is found
    // is the checkpoint, not a gap.
    cutLog(path, 15);
    expect(await verify()).toMatchObject({ ok: false, seq: 20, problem: 'checkpoint-beyond-head' });
  });

  it('detects the cut even when the checkpoints that named the lost events are deleted too (adversarial)', async () => {
    await signedLog(20);
    cutLog(path, 15, { dropCheckpoints: true });
    expect(await verify({ anchor: false })).toMatchObject({ ok: true, checkpoints: { verified: 0 } });
    const report = await verify();
    expect(report).toMatchObject({ ok: false, seq: 20, problem: 'checkpoint-beyond-head' });
    expect(report.ok === false && report.message).toMatch(/^the anchor .* the chain no longer reaches it/);
  });

  it('detects a whole chain rebuilt consistently by someone without the key (adversarial)', async () => {
    await signedLog(20);
    await append(5);
    // Event 7 vanishes; every later event is renumbered and every hash recomputed.
    rewriteChain(path, (all) => all.filter((event) => event.seq !== 7));
    const report = await verify();
    expect(report).toMatchObject({ ok: false, seq: 20, problem: 'checkpoint-mismatch' });
    expect(report.ok === false && report.message).toMatch(/rewritten after it was signed/);
    // Without any key at hand the signed head still does not match the rebuilt chain.
    expect(await verify({ keys: [], anchor: false })).toMatchObject({ problem: 'checkpoint-mismatch' });
  });

  it('detects a rebuilt chain whose checkpoints were replaced by ones signed with another key (adversarial)', async () => {
    await signedLog(20);
    const forged = rewriteChain(
      path,
      (all) => all.map((event) => (event.seq === 3 ? { ...event, data: { i: 3, text: 'harmless' } } : event)),
      { dropCheckpoints: true },
    );
    const attacker = loadOrCreateAuditKey(join(dir.path, 'attacker-key'));
    const head = forged.at(-1);
    if (head === undefined) throw new Error('no events');
    await store.addCheckpoint(signCheckpoint(head, new Date().toISOString(), attacker));
    expect(await verify({ anchor: false })).toMatchObject({ ok: false, seq: 20, problem: 'untrusted-key' });
    // With the checkpoints gone the anchor outside the store still names the signed head.
    const db = rawDatabase(path);
    db.exec('DELETE FROM audit_checkpoints');
    db.close();
    expect(await verify()).toMatchObject({ ok: false, seq: 20, problem: 'checkpoint-mismatch' });
  });

  it('detects a checkpoint row edited to name the rebuilt head (adversarial)', async () => {
    await signedLog(20);
    const forged = rewriteChain(path, (all) => all.filter((event) => event.seq !== 2));
    const db = rawDatabase(path);
    db.prepare('UPDATE audit_checkpoints SET seq = ?, hash = ?').run(19, forged.at(-1)?.hash ?? '');
    db.close();
    expect(await verify({ anchor: false })).toMatchObject({ ok: false, seq: 19, problem: 'bad-signature' });
  });

  it('checks signatures only with the keys it is given: another key is not trusted', async () => {
    await signedLog(10);
    const auditorsKey = loadOrCreateAuditKey(join(dir.path, 'some-other-key'));
    expect(await verify({ keys: [auditorsKey] })).toMatchObject({
      ok: false,
      seq: 10,
      problem: 'untrusted-key',
    });
    expect(await verify({ keys: [auditorsKey, key] })).toMatchObject({ ok: true });
    expect(await verify({ keys: [] })).toMatchObject({
      ok: true,
      checkpoints: { signaturesChecked: false, verified: 1, lastSeq: 10 },
    });
  });

  it('refuses to sign over a chain edited since its last checkpoint, and keeps the anchor (adversarial)', async () => {
    await signedLog(10);
    await append(5);
    const anchorBefore = readFileSync(anchorPath, 'utf8');
    const db = rawDatabase(path);
    db.prepare('UPDATE events SET data = ? WHERE seq = 12').run('{"edited":true}');
    db.close();
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'refused', seq: 12 });
    expect(events.at(-1)).toMatchObject({ status: 'refused' });
    expect(readFileSync(anchorPath, 'utf8')).toBe(anchorBefore);
    expect((await store.lastCheckpoint(key.keyId))?.seq).toBe(10);

    // Rebuilt consistently from before the signed head: the head itself is gone.
    rewriteChain(path, (all) => all.filter((event) => event.seq !== 5));
    const outcome = await checkpointer.checkpoint();
    expect(outcome).toMatchObject({ status: 'refused', seq: 10 });
    expect(outcome?.status === 'refused' && outcome.message).toMatch(
      /no longer holds the head signed at seq 10/,
    );
    expect(readFileSync(anchorPath, 'utf8')).toBe(anchorBefore);
  });

  it('signs the events committed here as it wrote them, so a later rewrite of them shows (adversarial)', async () => {
    const trail = withAuditTrail(store, { checkpointer, witness: null, intervalMs: 60_000 });
    for (let i = 0; i < 5; i++) await trail.commit({ events: [alert({ i })] });
    rewriteChain(path, (all) =>
      all.map((event) => (event.seq === 3 ? { ...event, data: { i: 99 } } : event)),
    );
    // Nothing read back from the store is signed here: the checkpoint names the hashes as committed.
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'signed', checkpoint: { seq: 5 } });
    expect(await verify()).toMatchObject({ ok: false, seq: 5, problem: 'checkpoint-mismatch' });
  });

  it('refuses when an event it committed no longer follows the stored chain (adversarial)', async () => {
    const trail = withAuditTrail(store, { checkpointer, witness: null, intervalMs: 60_000 });
    for (let i = 0; i < 3; i++) await trail.commit({ events: [alert({ i })] });
    await checkpointer.checkpoint();
    // Another process appends 4 and 5; this one appends 6; then 5 is rewritten consistently.
    await store.commit({ events: [alert({ other: 4 }), alert({ other: 5 })] });
    await trail.commit({ events: [alert({ i: 6 })] });
    rewriteChain(path, (all) =>
      all.map((event) => (event.seq === 5 ? { ...event, data: { other: 'x' } } : event)),
    );
    expect(await checkpointer.checkpoint()).toMatchObject({ status: 'refused', seq: 6 });
    expect((await store.lastCheckpoint(key.keyId))?.seq).toBe(3);
  });

  it('reads events of other processes back once each when they interleave with its own (a cluster)', async () => {
    let rowsRead = 0;
    const counting: Store = Object.create(store) as Store;
    counting.listEvents = async (query) => {
      const page = await store.listEvents(query);
      rowsRead += page.length;
      return page;
    };
    const node = createCheckpointer({
      store: counting,
      key,
      everyEvents: 1_000_000,
      anchorPath: null,
      onEvent: () => {},
    });
    const trail = withAuditTrail(store, { checkpointer: node, witness: null, intervalMs: 60_000 });
    const rounds = 200;
    // This node's event, then two of another node's, as three nodes' commits land in one chain.
    for (let i = 0; i < rounds; i++) {
      await trail.commit({ events: [alert({ here: i })] });
      await store.commit({ events: [alert({ other: i }), alert({ other: i, second: true })] });
    }
    expect(await node.checkpoint()).toMatchObject({ status: 'signed', checkpoint: { seq: 3 * rounds } });
    // The other node's 400 events once each, plus little: not a page per run of them.
    expect(rowsRead).toBeGreaterThanOrEqual(2 * rounds);
    expect(rowsRead).toBeLessThanOrEqual(3 * rounds);
    expect(await verify({ anchor: false })).toMatchObject({ ok: true, checked: 3 * rounds });
  });

  it('signs every N events, on the timer and at close through the audit trail, off the commit path', async () => {
    const trail = withAuditTrail(store, { checkpointer, witness: null, intervalMs: 60_000 });
    for (let i = 0; i < 25; i++) await trail.commit({ events: [alert({ i })] });
    await checkpointer.checkpoint();
    const signed = events.flatMap((event) => (event.status === 'signed' ? [event.checkpoint.seq] : []));
    expect(signed.length).toBeGreaterThanOrEqual(2);
    expect(signed.every((seq) => seq >= 10)).toBe(true);
    await trail.close();
    const reopened = openSqliteStore({ path });
    try {
      expect(await verifyAudit(reopened, { trustedKeys: [key], anchorPath })).toMatchObject({
        ok: true,
        checked: 25,
        checkpoints: { lastSeq: 25, unsignedEvents: 0 },
        anchor: { seq: 25 },
      });
    } finally {
      await reopened.close();
    }
    store = openSqliteStore({ path });
  });
});
