/**
 * `airlock store migrate --from sqlite:… --to postgres://…` against a real PostgreSQL: a control
 * plane's history (sessions, commands, an approval, outputs, the signed audit chain) arrives row for
 * row, verifies there with the same head, and a control plane on the new store carries on the chain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock } from '../../src/index.ts';
import { runCli } from '../support/cli.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { postgresSkipReason, startPostgres, type PostgresCluster } from '../support/postgres.ts';

const skip = postgresSkipReason();

async function openPlane(home: string, store?: string): Promise<Airlock> {
  const driver = createMemoryDriver();
  return createAirlock({
    crossCheck: false,
    approvalPollIntervalMs: 20,
    config: { router: { approvalRequiredFor: ['touch'] } },
    drivers: { [driver.name]: driver },
    home,
    env: { HOME: home, ...(store === undefined ? {} : { AIRLOCK_STORE: store }) },
  });
}

describe.skipIf(skip !== undefined)(`airlock store migrate${skip ? ` (${skip})` : ''}`, () => {
  let postgres: PostgresCluster;
  const homes: string[] = [];
  beforeAll(async () => {
    postgres = await startPostgres();
  }, 120_000);
  afterAll(async () => {
    await postgres?.destroy();
    for (const home of homes) rmSync(home, { recursive: true, force: true });
  });

  it('moves the history with the audit chain intact, and refuses a target that has one', async () => {
    const home = mkdtempSync(join(tmpdir(), 'airlock-migrate-'));
    homes.push(home);
    const plane = await openPlane(home);
    const session = await plane.sessions.create();
    const first = await session.run('echo migrated-output');
    const waiting = session.run('touch approved-file');
    let approvalId: string | undefined;
    for (let i = 0; i < 200 && approvalId === undefined; i++) {
      approvalId = (await plane.approvals.list({ status: 'pending' }))[0]?.id;
      if (approvalId === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(approvalId).toBeDefined();
    await plane.approvals.approve(approvalId ?? '', { decidedBy: 'test' });
    expect((await waiting).status).toBe('completed');
    await plane.sessions.destroy(session.id);
    const minted = await plane.accessTokens.create({ role: 'approver', name: 'ops', createdBy: 'cli' });
    const before = await plane.audit.verify();
    expect(before.ok).toBe(true);
    const sourceHashes = (await plane.audit.list({ limit: 1000 })).map((event) => event.hash);
    await plane.close();
    const events = sourceHashes.length;

    const url = await postgres.createDatabase('migrated');
    const env = { AIRLOCK_HOME: home };
    const moved = await runCli(
      ['store', 'migrate', '--from', `sqlite:${join(home, 'airlock.db')}`, '--to', url],
      {
        cwd: home,
        env,
      },
    );
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(
      /copied 1 sessions, 2 commands, 1 approvals, \d+ outputs, 1 access tokens, (\d+) audit events/,
    );
    expect(moved.stdout).toMatch(/checkpoint\(s\) signed by this machine's key verified/);

    // A control plane on the new store sees the same history and continues the same chain.
    const moved2 = await openPlane(home, url);
    try {
      const after = await moved2.audit.verify();
      expect(after).toMatchObject({ ok: true });
      expect(after.ok && after.checked).toBeGreaterThanOrEqual(events);
      const listed = await moved2.audit.list({ limit: 1000 });
      // Row for row: the first events are the source's own, hash for hash.
      expect(listed.slice(0, events).map((event) => event.hash)).toEqual(sourceHashes);
      expect((await moved2.sessions.info(session.id)).state).toBe('ended');
      const approval = await moved2.approvals.get(approvalId ?? '');
      expect(approval.status).toBe('approved');
      // A person's token keeps working on the new store: only its digest was copied, and it matches.
      expect(await moved2.accessTokens.resolve(minted.token)).toMatchObject({
        id: minted.info.id,
        role: 'approver',
      });
      expect(first.outputId).toBeTruthy();
      const page = await moved2.commands.readOutput(first.outputId ?? '');
      expect(page.text).toContain('migrated-output');
      const next = await moved2.sessions.create();
      expect((await next.run('echo after-move')).stdout).toContain('after-move');
      expect(await moved2.audit.verify()).toMatchObject({ ok: true });
    } finally {
      await moved2.close();
    }

    // A second copy into the same database would fork the chain: refused, nothing written.
    const again = await runCli(
      ['store', 'migrate', '--from', `sqlite:${join(home, 'airlock.db')}`, '--to', url],
      {
        cwd: home,
        env,
      },
    );
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already holds sessions or audit events/);
  }, 120_000);
});
