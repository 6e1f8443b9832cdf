import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../store/index.ts';
import type { Store } from '../store/index.ts';
import { rejectedAirlockError } from '../../test/support/airlock-errors.ts';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createAccessTokens } from './access-tokens.ts';

describe('people access tokens', () => {
  let dir: string;
  let store: Store;
  let clock: number;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'airlock-tokens-'));
    store = openSqliteStore({ path: join(dir, 'airlock.db') });
    clock = Date.parse('2025-03-01T00:00:00.000Z');
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('mints a token that resolves to its role, keeps only a digest, and audits it', async () => {
    const tokens = createAccessTokens({ store, now: () => clock });
    const { token, info } = await tokens.create({ role: 'approver', name: ' alice ', createdBy: 'cli' });
    expect(token).toMatch(/^alk_approver_[\w-]{43}$/);
    expect(info).toMatchObject({ role: 'approver', name: 'alice', createdBy: 'cli', revokedAt: null });
    expect(info).not.toHaveProperty('digest');
    expect(await tokens.resolve(token)).toStrictEqual(info);
    expect(await tokens.resolve(`${token}x`)).toBeNull();

    await store.close();
    // The database file holds no copy of the token a person could lift from a backup.
    expect(readFileSync(join(dir, 'airlock.db')).includes(Buffer.from(token))).toBe(false);
    store = openSqliteStore({ path: join(dir, 'airlock.db') });
    const events = await store.listEvents({ types: ['token.created'] });
    expect(events[0]?.data).toMatchObject({ tokenId: info.id, role: 'approver', name: 'alice', by: 'cli' });
  });

  it('stops resolving a revoked or expired token, and revoking twice changes nothing', async () => {
    const tokens = createAccessTokens({ store, now: () => clock });
    const viewer = await tokens.create({ role: 'viewer', name: 'bob', createdBy: 'cli', ttlMs: 60_000 });
    clock += 1;
    const other = await tokens.create({ role: 'viewer', name: 'carol', createdBy: 'cli' });
    const revoked = await tokens.revoke(other.info.id, { revokedBy: 'api:admin:1' });
    expect(revoked.revokedBy).toBe('api:admin:1');
    expect(await tokens.resolve(other.token)).toBeNull();
    expect(await tokens.current(other.info.id)).toBeNull();
    expect((await tokens.revoke(other.info.id, { revokedBy: 'someone else' })).revokedBy).toBe('api:admin:1');
    expect(await store.listEvents({ types: ['token.revoked'] })).toHaveLength(1);

    expect(await tokens.resolve(viewer.token)).not.toBeNull();
    clock += 59_999;
    expect(await tokens.resolve(viewer.token)).toBeNull();
    expect((await tokens.list()).map((info) => info.name)).toStrictEqual(['bob', 'carol']);
  });

  it('refuses a name with control characters, an unknown role and an unknown id', async () => {
    const tokens = createAccessTokens({ store });
    // An escape sequence in a name could repaint a terminal listing the tokens.
    const named = await rejectedAirlockError(
      tokens.create({ role: 'viewer', name: 'eve\u001b[2J', createdBy: 'cli' }),
    );
    expect(named.details).toMatchObject({ field: 'name' });
    const role = await rejectedAirlockError(
      tokens.create({ role: 'admin' as never, name: 'mallory', createdBy: 'cli' }),
    );
    expect(role.details).toMatchObject({ field: 'role' });
    expect((await rejectedAirlockError(tokens.revoke('tok_nope', { revokedBy: 'cli' }))).code).toBe(
      'NOT_FOUND',
    );
    expect(await tokens.list()).toStrictEqual([]);
  });
});
