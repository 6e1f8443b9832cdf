/**
 * `airlock audit` against a real store written by a real control plane: tail, export and verify,
 * including a log edited and truncated behind Airlock's back.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import { auditAnchorPath } from '../../src/store/index.ts';
import { runCli } from '../support/cli.ts';
import type { CliRun } from '../support/cli.ts';
import { bwrapMissing, closeAfterTest, envFor, newHome, startCli } from './cli-process.ts';

function airlock(args: string[], home: string, closeOutputAfterFirstWrite = false): Promise<CliRun> {
  return runCli(args, {
    cwd: home,
    env: envFor(home),
    ...(closeOutputAfterFirstWrite ? { closeOutputAfterFirstWrite: true } : {}),
  });
}

/** A store with events of two sessions; the control plane stays open until the test ends. */
async function recordedLog() {
  const home = newHome();
  const plane = await createAirlock({ home, env: { HOME: home }, crossCheck: false });
  closeAfterTest(plane);
  const first = await plane.sessions.create();
  await first.run('echo one');
  const second = await plane.sessions.create();
  await second.run('echo two');
  const events = await plane.audit.list({ limit: 10_000 });
  expect(events.length).toBeGreaterThan(4);
  return { home, plane, first, second, events };
}

function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('airlock audit with no store yet', () => {
  it('verifies 0 events, prints nothing to tail or export, and creates no database', async () => {
    const home = newHome();
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(0);
    expect(verified.stdout).toMatch(/^ok: 0 events verified \(no store at .*airlock\.db yet\)\n$/);
    expect(await airlock(['audit', 'tail'], home)).toMatchObject({ exitCode: 0, stdout: '' });
    expect(await airlock(['audit', 'export', '--jsonl'], home)).toMatchObject({ exitCode: 0, stdout: '' });
    expect(readdirSync(home)).toEqual([]);
  });

  it('refuses a count that is not a whole number with the usage status', async () => {
    const home = newHome();
    const result = await airlock(['audit', 'tail', '-n', '-3'], home);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--lines "-3" is not a whole number/);
  });
});

describe.skipIf(bwrapMissing)('airlock audit on a recorded log', () => {
  it('tail prints the newest events, one formatted line each', async () => {
    const { home, events, second } = await recordedLog();
    const tail = await airlock(['audit', 'tail', '-n', '3'], home);
    expect(tail.exitCode).toBe(0);
    const lines = tail.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    const newest = events.slice(-3);
    expect(lines.map((line) => line.split(' ')[1])).toEqual(newest.map((event) => `#${event.seq}`));
    expect(lines[2]).toContain(newest[2]?.type);

    const all = await airlock(['audit', 'tail', '-n', '10000'], home);
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(events.length);

    const ofSession = await airlock(['audit', 'tail', '-n', '1000', '--session', second.id], home);
    const sessionLines = ofSession.stdout.trimEnd().split('\n');
    expect(sessionLines.length).toBe(events.filter((event) => event.sessionId === second.id).length);
    for (const line of sessionLines) expect(line).toContain(`session=${second.id}`);
  });

  it('tail --follow prints events recorded after it started, until Ctrl-C (130)', async () => {
    const { home, first } = await recordedLog();
    const follow = startCli(['audit', 'tail', '-n', '1', '--follow'], home);
    try {
      // The newest event printed means the follower found the head: what comes next is new.
      await follow.waitForOutput(/\n$/);
      expect(follow.stdout().trimEnd().split('\n')).toHaveLength(1);
      await first.run('echo three');
      await follow.waitForOutput(/command\.proposed .*"echo three"/);
    } finally {
      follow.child.kill('SIGINT');
    }
    expect((await follow.exited).exitCode).toBe(130);
  });

  it('export --jsonl writes every stored field, seq consecutive and each linked to the previous hash', async () => {
    const { home, events, first } = await recordedLog();
    const exported = await airlock(['audit', 'export', '--jsonl'], home);
    expect(exported.exitCode).toBe(0);
    const lines = jsonLines(exported.stdout);
    expect(lines).toHaveLength(events.length);
    lines.forEach((line, index) => {
      expect(line['seq']).toBe(index + 1);
      expect(line['prevHash']).toBe(index === 0 ? '' : lines[index - 1]?.['hash']);
    });
    expect(lines).toEqual(events.map((event) => ({ ...event })));

    const since = jsonLines((await airlock(['audit', 'export', '--jsonl', '--since', '3'], home)).stdout);
    expect(since[0]?.['seq']).toBe(4);
    expect(since).toHaveLength(events.length - 3);

    const ofSession = jsonLines(
      (await airlock(['audit', 'export', '--jsonl', '--session', first.id], home)).stdout,
    );
    expect(ofSession.length).toBeGreaterThan(0);
    expect(ofSession.every((line) => line['sessionId'] === first.id)).toBe(true);
  });

  it('export stops quietly when the reader goes away (| head -1)', async () => {
    const { home } = await recordedLog();
    const result = await airlock(['audit', 'export', '--jsonl'], home, true);
    expect(result.exitCode).toBe(141);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toBe('');
  });

  it('verify passes an untouched log and prints its head', async () => {
    const { home, plane } = await recordedLog();
    await plane.close();
    const events = await readEvents(home);
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(0);
    const n = events.length;
    // Closing signed the head: every event is under a checkpoint, and the anchor outside names it.
    expect(verified.stdout).toBe(
      `ok: ${n} events verified, head ${events.at(-1)?.hash}\n` +
        `signatures: 1 checkpoint verified with this machine's key (${join(home, 'audit-key')}); the newest covers events 1..${n}\n` +
        `anchor: seq ${n}, signed and kept outside the store (${auditAnchorPath(home, join(home, 'airlock.db'))}), is in the chain\n`,
    );
  });

  it('verify exits 1 naming the seq of an event edited behind Airlock (adversarial)', async () => {
    const { home, plane } = await recordedLog();
    await plane.close();
    const db = new DatabaseSync(join(home, 'airlock.db'));
    try {
      // An attacker with write access to the file removes the append-only guard first.
      db.exec('DROP TRIGGER events_no_update');
      db.prepare('UPDATE events SET data = ? WHERE seq = 2').run('{"edited":true}');
    } finally {
      db.close();
    }
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(1);
    expect(verified.stdout).toMatch(/^FAILED at seq 2 \(hash-mismatch\): .*events verified before it: 1\n$/);
  });

  it('verify exits 1 when the newest events were deleted (adversarial)', async () => {
    const { home, plane } = await recordedLog();
    await plane.close();
    const events = await readEvents(home);
    const last = events.at(-1)?.seq ?? 0;
    const db = new DatabaseSync(join(home, 'airlock.db'));
    try {
      db.exec('DROP TRIGGER events_no_delete');
      db.prepare('DELETE FROM events WHERE seq >= ?').run(last - 1);
    } finally {
      db.close();
    }
    const verified = await airlock(['audit', 'verify'], home);
    expect(verified.exitCode).toBe(1);
    expect(verified.stdout).toMatch(new RegExp(`^FAILED at seq ${last - 1} \\(gap\\)`));
  });
});

async function readEvents(home: string) {
  const exported = await airlock(['audit', 'export', '--jsonl'], home);
  return jsonLines(exported.stdout) as Array<{ seq: number; hash: string }>;
}

describe.skipIf(bwrapMissing)('airlock audit export: every surface is recorded', () => {
  it('shows a command run by airlock exec, with its decision and how it ended', async () => {
    const home = newHome();
    const ran = await airlock(['exec', '--', 'echo audited-by-exec; exit 4'], home);
    expect(ran).toMatchObject({ exitCode: 4, stdout: 'audited-by-exec\n' });
    const denied = await airlock(['exec', '--', 'rm -rf /'], home);
    expect(denied.exitCode).toBe(126);

    const exported = await airlock(['audit', 'export', '--jsonl'], home);
    expect(exported.exitCode).toBe(0);
    const events = jsonLines(exported.stdout);
    const proposed = events.filter((event) => event['type'] === 'command.proposed');
    expect(proposed.map((event) => (event['data'] as Record<string, unknown>)['command'])).toEqual([
      'echo audited-by-exec; exit 4',
      'rm -rf /',
    ]);
    const finished = events.find((event) => event['type'] === 'execution.finished');
    expect(finished?.['data']).toMatchObject({ status: 'completed', exitCode: 4 });
    const decisions = events
      .filter((event) => event['type'] === 'command.decided')
      .map((event) => (event['data'] as Record<string, unknown>)['decision']);
    expect(decisions).toEqual(['allow', 'deny']);
    // Each exec is a session of its own, created and ended.
    expect(events.filter((event) => event['type'] === 'session.destroyed')).toHaveLength(2);
    expect((await airlock(['audit', 'verify'], home)).exitCode).toBe(0);
  });

  it('shows every file read and listing, with what was given and never the content', async () => {
    const home = newHome();
    const plane = await createAirlock({
      home,
      env: { HOME: home },
      crossCheck: false,
      config: { router: { approvalRequiredFor: [] } },
    });
    closeAfterTest(plane);
    const session = await plane.sessions.create();
    await session.files.write('notes/a.txt', 'first file\n');
    await session.run('echo second > notes/b.txt');
    expect((await session.files.read('notes/a.txt')).toString()).toBe('first file\n');
    expect((await session.files.read('notes/b.txt')).toString()).toBe('second\n');
    expect((await session.files.list('notes')).map((entry) => entry.name).sort()).toEqual(['a.txt', 'b.txt']);

    const exported = await airlock(['audit', 'export', '--jsonl'], home);
    const events = jsonLines(exported.stdout);
    const reads = events.filter((event) => event['type'] === 'file.read');
    expect(reads.map((event) => event['data'])).toEqual([
      expect.objectContaining({ path: 'notes/a.txt', bytes: 11 }),
      expect.objectContaining({ path: 'notes/b.txt', bytes: 7 }),
    ]);
    const listed = events.filter((event) => event['type'] === 'file.listed');
    expect(listed.map((event) => event['data'])).toEqual([{ path: 'notes', entries: 2 }]);
    expect(exported.stdout).not.toContain('first file');
  });
});
