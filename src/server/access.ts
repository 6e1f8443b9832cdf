/**
 * What a token may reach. A session token sees exactly one session: any other session, and the
 * commands and outputs of any other session, are answered as unknown (404) so a session token cannot
 * even learn which ids exist.
 */
import type { Airlock, Session } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { Principal } from './tokens.ts';

export function assertSessionAccess(principal: Principal | null, sessionId: string): void {
  if (principal?.kind === 'session' && principal.sessionId !== sessionId) {
    throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(sessionId).slice(0, 80)}`, {
      sessionId,
    });
  }
}

/** A live session the token may reach: NOT_FOUND for another's, SESSION_ENDED for one that is over. */
export async function liveSessionFor(
  airlock: Airlock,
  principal: Principal | null,
  sessionId: string,
): Promise<Session> {
  assertSessionAccess(principal, sessionId);
  return airlock.sessions.get(sessionId);
}

/** Who decided, for the audit log: the token's short id, never the token. */
export function actorOf(principal: Principal | null): string {
  return principal === null ? 'api' : `api:${principal.kind}:${principal.tokenId}`;
}
