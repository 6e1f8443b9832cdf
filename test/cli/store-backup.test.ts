/**
 * `airlock store backup` against a store a real control plane is writing, and the restore steps
 * docs/operations.md gives, run as written.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import { SCHEMA_VERSION } from '../../src/store/index.ts';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { eventually } from '../control-plane/support.ts';
import { bwrapMissing, closeAfterTest, envFor, newHome } from './cli-process.ts';

function airlock(args: string[], home: string): Promise<CliRun> {
  return runCli(args, { cwd: home, env: envFor(home) });
}

function lastSeq(storePath: string): number {
  if (!existsSync(storePath)) return 0;
  const db = new DatabaseSync(storePath, { readOnly: true });
  try {
    return Number(db.prepare('SELECT coalesce(max(seq), 0) AS last FROM events').get()?.['last']);
  } finally {
    db.close();
  }
}

/** `airlock audit verify` on another store file, the way docs/operations.md says to check a backup. */
async function verifyFile(home: string, storeFile: string): Promise<CliRun> {
  const config = join(home, `verify-${readdirSync(home).length}.yaml`);
  writeFileSync(config, `store: sqlite:${storeFile}\n`);
  return airlock(['audit', 'verify', '--config', config], home);
}

function startBusyControlPlane(home: string) {
  const fixture = fileURLToPath(new URL('./fixtures/busy-control-plane.ts', import.meta.url));
  const child = spawn(process.execPath, [fixture, home], { stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`control plane exited with ${code}: ${stderr}`)));
  });
}

/** A control plane that runs `commands`, then closes (so its newest head is signed and anchored). */
async function runAndClose(home: string, commands: string[]): Promise<void> {
  const plane = await createAirlock({ home, env: { HOME: home }, crossCheck: false });
  closeAfterTest(plane);
  const session = await plane.sessions.create();
  for (const command of commands) await session.run(command);
  await plane.close();
}

describe('airlock store backup', () => {
  it('refuses to overwrite the live store (adversarial): exit 2, the store untouched', async () => {
    const home = newHome();
    writeFileSync(join(home, 'airlock.yaml'), 'store: sqlite:state/airlock.db\n');
    // No store yet: nothing to back up is a store problem (125), not a usage error.
    const none = await airlock(['store', 'backup', 'b.db'], home);
    expect(none.exitCode).toBe(125);
    expect(none.stderr).toContain(`no store at ${join(home, 'state', 'airlock.db')}`);
    mkdirSync(join(home, 'state'));
    const db = new DatabaseSync(join(home, 'state', 'airlock.db'));
    db.exec('PRAGMA user_version = 2; CREATE TABLE events (seq INTEGER PRIMARY KEY)');
    db.close();
    const refused = await airlock(['store', 'backup', 'state/airlock.db'], home);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/already exists; a backup never overwrites a file/);
    expect(lastSeq(join(home, 'state', 'airlock.db'))).toBe(0);
  });
});

describe.skipIf(bwrapMissing)('airlock store backup with a control plane running', () => {
  it('copies the store while commands run; audit verify passes on the copy, signatures included', async () => {
    const home = newHome();
    const live = join(home, 'airlock.db');
    await startBusyControlPlane(home);
    // A few checkpoints signed (one every 10 events) before the backup.
    expect(await eventually(() => lastSeq(live) > 40, 30_000)).toBe(true);

    const backupFile = join(home, 'backup.db');
    const backedUp = await airlock(['store', 'backup', 'backup.db'], home);
    expect(backedUp.stderr).toBe('');
    expect(backedUp.exitCode).toBe(0);
    const match = new RegExp(
      `^backed up (\\S+) to (\\S+): (\\d+) audit events, schema version ${SCHEMA_VERSION}, [\\d.]+ MiB\\n$`,
    ).exec(backedUp.stdout);
    expect(match?.slice(1, 3)).toEqual([live, backupFile]);
    const events = Number(match?.[3]);
    expect(events).toBeGreaterThan(40);

    const verified = await verifyFile(home, backupFile);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toContain(`ok: ${events} events verified`);
    expect(verified.stdout).toMatch(/signatures: \d+ checkpoints verified with this machine's key/);
    // The control plane went on writing the live store after the copy was taken.
    expect(await eventually(() => lastSeq(live) > events, 10_000)).toBe(true);
  }, 90_000);

  it('restores as docs/operations.md says: verify catches the lost events until the anchor is moved aside', async () => {
    const home = newHome();
    const live = join(home, 'airlock.db');
    await runAndClose(home, ['echo one']);
    const backupFile = join(home, 'backup.db');
    expect((await airlock(['store', 'backup', backupFile], home)).exitCode).toBe(0);
    const backedUp = lastSeq(backupFile);
    await runAndClose(home, ['echo two', 'echo three']);
    expect(lastSeq(live)).toBeGreaterThan(backedUp);

    // Restore: the control plane is stopped; the backup replaces the store and its -wal/-shm go.
    copyFileSync(backupFile, live);
    rmSync(`${live}-wal`, { force: true });
    rmSync(`${live}-shm`, { force: true });
    const lost = await airlock(['audit', 'verify'], home);
    expect(lost.exitCode).toBe(1);
    const anchors = readdirSync(join(home, 'audit-anchors'));
    expect(anchors).toHaveLength(1);
    const anchor = join(home, 'audit-anchors', anchors[0] ?? '');
    expect(lost.stdout).toContain(`the anchor ${anchor}`);

    // The anchor is kept as the record of the head that was lost, out of the directory.
    const keptAside = join(home, 'anchor-before-restore.json');
    renameSync(anchor, keptAside);
    expect((await airlock(['audit', 'verify'], home)).exitCode).toBe(0);
    await runAndClose(home, ['echo four']);
    const after = await airlock(['audit', 'verify'], home);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toMatch(/anchor: seq \d+, signed and kept outside the store/);
    expect(lastSeq(live)).toBeGreaterThan(backedUp);
  }, 90_000);
});
