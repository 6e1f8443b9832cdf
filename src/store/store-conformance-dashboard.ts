/**
 * The conformance suite's part for what people watching agents read (see store-conformance.ts): access
 * tokens, pages of commands, audit events before a seq or of one command, and scoped and egress
 * approvals.
 */
import { expect, it } from 'vitest';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { alert, approval, command, session } from './test-support.ts';
import type { AccessTokenRecord, Store } from './types.ts';

function token(id: string, overrides: Partial<AccessTokenRecord> = {}): AccessTokenRecord {
  return {
    id,
    digest: `${id}-digest`,
    role: 'viewer',
    name: 'ops on call',
    createdAt: '2025-01-01T00:00:00.000Z',
    createdBy: 'cli',
    expiresAt: null,
    revokedAt: null,
    revokedBy: null,
    ...overrides,
  };
}

export function describeDashboardReads(current: () => Store): void {
  it('keeps access tokens by id and by digest, and a revocation replaces the record', async () => {
    const store = current();
    const viewer = token('tok_a');
    const approver = token('tok_b', { role: 'approver', expiresAt: '2026-01-01T00:00:00.000Z' });
    await store.commit({ accessTokens: [viewer, approver] });
    expect(await store.getAccessToken('tok_a')).toStrictEqual(viewer);
    expect(await store.findAccessToken('tok_b-digest')).toStrictEqual(approver);
    expect(await store.findAccessToken('nothing')).toBeNull();

    const revoked = { ...viewer, revokedAt: '2025-01-02T00:00:00.000Z', revokedBy: 'api:admin:1' };
    await store.commit({ accessTokens: [revoked] });
    expect(await store.listAccessTokens()).toStrictEqual([revoked, approver]);
  });

  it('refuses a role the schema does not know and two tokens with one digest', async () => {
    const store = current();
    await expect(
      store.commit({ accessTokens: [token('tok_x', { role: 'admin' as never })] }),
    ).rejects.toThrow();
    await store.commit({ accessTokens: [token('tok_y', { digest: 'same' })] });
    await expect(store.commit({ accessTokens: [token('tok_z', { digest: 'same' })] })).rejects.toThrow();
    expect((await store.listAccessTokens()).map((record) => record.id)).toStrictEqual(['tok_y']);
  });

  it('pages commands newest first across sessions, by session, state and text', async () => {
    const store = current();
    await store.commit({ sessions: [session('s1'), session('s2')] });
    const commands = Array.from({ length: 7 }, (_, index) =>
      command(`c${index}`, index % 2 === 0 ? 's1' : 's2', {
        command:
          index === 3
            ? 'git push origin 100%_done'
            : index === 1
              ? 'Überall printf "a\\0b" \u0000 end'
              : `echo ${index}`,
        state: index === 5 ? 'running' : 'completed',
        createdAt: `2025-01-01T00:00:0${index}.000Z`,
      }),
    );
    await store.commit({ commands });
    const ids = (list: { id: string }[]) => list.map((record) => record.id);

    const first = await store.queryCommands({ limit: 3 });
    expect(ids(first)).toStrictEqual(['c6', 'c5', 'c4']);
    const second = await store.queryCommands({ limit: 3, beforeId: 'c4' });
    expect(ids(second)).toStrictEqual(['c3', 'c2', 'c1']);
    expect(ids(await store.queryCommands({ sessionId: 's2' }))).toStrictEqual(['c5', 'c3', 'c1']);
    expect(ids(await store.queryCommands({ states: ['running'] }))).toStrictEqual(['c5']);
    expect(ids(await store.queryCommands({ states: [] }))).toStrictEqual([]);
    // What a person types is text, not a LIKE pattern: `%_` matches only those two characters.
    expect(ids(await store.queryCommands({ text: '100%_' }))).toStrictEqual(['c3']);
    expect(ids(await store.queryCommands({ text: 'GIT PUSH' }))).toStrictEqual(['c3']);
    expect(ids(await store.queryCommands({ text: '%' }))).toStrictEqual(['c3']);
    // A command holding NUL is searchable and spoils no search; only ASCII letters fold case (Ü is not ü).
    expect(ids(await store.queryCommands({ text: 'Über' }))).toStrictEqual(['c1']);
    expect(ids(await store.queryCommands({ text: 'üBERALL' }))).toStrictEqual([]);
    expect(ids(await store.queryCommands({ text: 'ÜBERALL' }))).toStrictEqual(['c1']);
    // An id is found by `id`, never by text: a command cannot pose as another by quoting its id.
    expect(ids(await store.queryCommands({ text: 'c4' }))).toStrictEqual([]);
    expect(ids(await store.queryCommands({ id: 'c4' }))).toStrictEqual(['c4']);
    // A cursor that names no command is a page that is gone, not "start again".
    expect(await store.queryCommands({ beforeId: 'missing' })).toStrictEqual([]);
  });

  it('refuses a page size out of range and an overlong search', async () => {
    const store = current();
    expect((await rejectedAirlockError(store.queryCommands({ limit: 501 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(store.queryCommands({ limit: 0 }))).code).toBe('INVALID_ARGUMENT');
    expect((await rejectedAirlockError(store.queryCommands({ text: 'x'.repeat(501) }))).code).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('reads audit events before a seq (the newest of them, oldest first) and by command', async () => {
    const store = current();
    await store.commit({ events: Array.from({ length: 10 }, (_, index) => alert({ index })) });
    await store.commit({
      events: [{ type: 'command.proposed', sessionId: 's1', commandId: 'c1', data: {} }],
    });
    const before = await store.listEvents({ beforeSeq: 8, limit: 3 });
    expect(before.map((event) => event.seq)).toStrictEqual([5, 6, 7]);
    const newest = await store.listEvents({ beforeSeq: Number.MAX_SAFE_INTEGER, limit: 2 });
    expect(newest.map((event) => event.seq)).toStrictEqual([10, 11]);
    const ofCommand = await store.listEvents({ commandId: 'c1' });
    expect(ofCommand.map((event) => event.type)).toStrictEqual(['command.proposed']);
    expect((await rejectedAirlockError(store.listEvents({ beforeSeq: -1 }))).code).toBe('INVALID_ARGUMENT');
  });

  it('keeps what "remember" may cover and the grant a person chose; stores egress approvals', async () => {
    const store = current();
    await store.commit({ sessions: [session('s1')] });
    const grants = [
      { scope: 'command', covers: ['npm install'] },
      { scope: 'program', covers: ['npm'] },
    ] as const;
    const scoped = approval('a1', 's1', { grants });
    const egress = approval('a2', 's1', {
      action: 'egress',
      subject: 'api.example.test:443',
      grants: [{ scope: 'host', covers: ['api.example.test'] }],
    });
    await store.commit({ approvals: [scoped, egress] });
    expect(await store.getApproval('a1')).toStrictEqual(scoped);
    expect(await store.getApproval('a2')).toStrictEqual(egress);
    const decided = await store.decideApproval(
      'a1',
      { status: 'approved', decidedBy: 'alice', reason: null, remember: true, scope: 'program' },
      (updated) => ({ type: 'approval.decided', sessionId: 's1', commandId: null, data: { id: updated.id } }),
    );
    expect(decided).toMatchObject({ status: 'approved', remember: true, scope: 'program', grants });
    expect(await store.getApproval('a1')).toStrictEqual(decided);
    // Adversarial: an action or a scope nobody defined is refused by the schema, nothing stored.
    await expect(
      store.commit({ approvals: [approval('a3', 's1', { action: 'shell' as 'egress' })] }),
    ).rejects.toThrow();
    await expect(
      store.commit({ approvals: [approval('a4', 's1', { scope: 'everything' as 'host' })] }),
    ).rejects.toThrow();
    expect((await store.listApprovals()).map((record) => record.id)).toStrictEqual(['a1', 'a2']);
  });
}
