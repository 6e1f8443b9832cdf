import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import { createTokenRegistry, loadOrCreateAdminToken, MAX_TOKENS_PER_SESSION } from './tokens.ts';

const homes: string[] = [];
afterEach(() => {
  for (const home of homes.splice(0)) rmSync(home, { recursive: true, force: true });
});
function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'airlock-token-test-'));
  homes.push(home);
  return home;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof AirlockError) return error.code;
    throw error;
  }
  return undefined;
}

describe('the admin token file', () => {
  it('is generated once with mode 0600 and read back on the next start', () => {
    const home = newHome();
    const first = loadOrCreateAdminToken(home, undefined);
    expect(first.token).toMatch(/^alk_admin_[A-Za-z0-9_-]{43}$/);
    expect(first.path).toBe(join(home, 'admin-token'));
    expect(statSync(join(home, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(loadOrCreateAdminToken(home, undefined).token).toBe(first.token);
  });

  it('is not written when AIRLOCK_TOKEN gives the token', () => {
    const home = newHome();
    expect(loadOrCreateAdminToken(home, 'from-the-environment-123')).toEqual({
      token: 'from-the-environment-123',
      path: null,
    });
    expect(existsSync(join(home, 'admin-token'))).toBe(false);
  });

  it('is refused when other users can read it, or when it is not a plain file with a token', () => {
    const readable = newHome();
    loadOrCreateAdminToken(readable, undefined);
    chmodSync(join(readable, 'admin-token'), 0o644);
    expect(codeOf(() => loadOrCreateAdminToken(readable, undefined))).toBe('INVALID_CONFIG');

    const linked = newHome();
    writeFileSync(join(linked, 'elsewhere'), 'alk_admin_aaaaaaaaaaaaaaaaaaaaaaaa', { mode: 0o600 });
    symlinkSync(join(linked, 'elsewhere'), join(linked, 'admin-token'));
    expect(codeOf(() => loadOrCreateAdminToken(linked, undefined))).toBe('INVALID_CONFIG');

    const empty = newHome();
    writeFileSync(join(empty, 'admin-token'), '\n', { mode: 0o600 });
    expect(codeOf(() => loadOrCreateAdminToken(empty, undefined))).toBe('INVALID_CONFIG');
    expect(readFileSync(join(empty, 'admin-token'), 'utf8')).toBe('\n');
  });
});

describe('the token registry', () => {
  it('tells the admin token from session tokens, each scoped to its session', () => {
    const registry = createTokenRegistry('alk_admin_secret-secret-secret');
    const one = registry.mintSessionToken('ses_one');
    const two = registry.mintSessionToken('ses_two');
    expect(one).not.toBe(two);
    expect(registry.resolve('alk_admin_secret-secret-secret')).toMatchObject({ kind: 'admin' });
    expect(registry.resolve(one)).toMatchObject({ kind: 'session', sessionId: 'ses_one' });
    expect(registry.resolve(two)).toMatchObject({ kind: 'session', sessionId: 'ses_two' });
    // Near misses are strangers: a prefix, a suffix, another case.
    for (const guess of [
      'alk_admin_secret-secret-secre',
      'alk_admin_secret-secret-secret ',
      one.toUpperCase(),
      '',
    ]) {
      expect(registry.resolve(guess), guess).toBeNull();
    }
  });

  it('forgets a session’s tokens when it is revoked, and bounds tokens per session', () => {
    const registry = createTokenRegistry('alk_admin_secret-secret-secret');
    const tokens = Array.from({ length: MAX_TOKENS_PER_SESSION }, () => registry.mintSessionToken('ses_one'));
    expect(codeOf(() => registry.mintSessionToken('ses_one'))).toBe('LIMIT_REACHED');
    registry.revokeSession('ses_one');
    for (const token of tokens) expect(registry.resolve(token)).toBeNull();
    expect(registry.sessionIds()).toEqual([]);
  });

  it('names tokens by a short id that is not the token', () => {
    const registry = createTokenRegistry('alk_admin_secret-secret-secret');
    const token = registry.mintSessionToken('ses_one');
    const principal = registry.resolve(token);
    expect(principal?.tokenId).toMatch(/^[0-9a-f]{8}$/);
    expect(token).not.toContain(principal?.tokenId);
  });
});
