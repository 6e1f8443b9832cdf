import { describe, expect, it } from 'vitest';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';
import {
  createWebSessions,
  MAX_WEB_SESSIONS,
  MAX_WEB_SESSIONS_PER_TOKEN,
  readCookie,
  sessionCookie,
  WEB_SESSION_LIFETIME_MS,
} from './web-sessions.ts';

const viewer = (tokenId: string) => ({ kind: 'viewer' as const, tokenId, name: tokenId });

describe('signed-in browsers', () => {
  it('ends a sign-in at its lifetime and answers an unknown id as nobody', () => {
    let clock = 1_000;
    const sessions = createWebSessions({ now: () => clock });
    const { id, session } = sessions.open(viewer('tok_a'));
    expect(sessions.get(id)).toBe(session);
    expect(sessions.get(`${id}x`)).toBeNull();
    clock += WEB_SESSION_LIFETIME_MS;
    expect(sessions.get(id)).toBeNull();
  });

  it("makes room from the token's own oldest sign-in, and refuses past the server-wide limit rather than sign others out", () => {
    let clock = 0;
    const sessions = createWebSessions({ now: () => ++clock });
    const first = sessions.open(viewer('tok_a'));
    for (let index = 1; index < MAX_WEB_SESSIONS_PER_TOKEN; index++) sessions.open(viewer('tok_a'));
    expect(sessions.get(first.id)).not.toBeNull();
    sessions.open(viewer('tok_a'));
    expect(sessions.get(first.id)).toBeNull();

    const crowded = createWebSessions();
    for (let index = 0; index < MAX_WEB_SESSIONS; index++) crowded.open(viewer(`tok_${index}`));
    expect(thrownAirlockError(() => crowded.open(viewer('tok_new'))).code).toBe('LIMIT_REACHED');
  });

  it('matches the CSRF token exactly and signs every browser of a revoked token out', () => {
    const sessions = createWebSessions();
    const one = sessions.open(viewer('tok_a'));
    const two = sessions.open(viewer('tok_a'));
    const other = sessions.open(viewer('tok_b'));
    expect(sessions.csrfMatches(one.session, one.session.csrfToken)).toBe(true);
    expect(sessions.csrfMatches(one.session, two.session.csrfToken)).toBe(false);
    expect(sessions.csrfMatches(one.session, undefined)).toBe(false);
    expect(sessions.csrfMatches(one.session, '')).toBe(false);
    sessions.closeForToken('tok_a');
    expect([sessions.get(one.id), sessions.get(two.id)]).toEqual([null, null]);
    expect(sessions.get(other.id)).not.toBeNull();
  });

  it('reads one cookie among several and writes an HttpOnly, SameSite=Strict one', () => {
    expect(readCookie('a=1; airlock_session=abc; b=2', 'airlock_session')).toBe('abc');
    expect(readCookie('xairlock_session=abc', 'airlock_session')).toBeUndefined();
    expect(sessionCookie('v', { maxAgeS: 60, secure: false })).toBe(
      'airlock_session=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60',
    );
    expect(sessionCookie('v', { maxAgeS: 60, secure: true })).toMatch(/; Secure$/);
  });
});
