/**
 * Signed-in browsers. Signing in exchanges a token (admin, viewer or approver) for a random session id
 * in an HttpOnly, SameSite=Strict cookie and a CSRF token the page keeps in memory: script on the page
 * never holds the token itself, other sites' pages cannot send the cookie, and a change needs the CSRF
 * token, which only a same-origin page can read. Kept in memory (a restart signs everyone out) and
 * keyed by a digest of the id, like the bearer tokens, so a heap dump does not hold a usable cookie.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import type { Principal } from './tokens.ts';

export const SESSION_COOKIE = 'airlock_session';
export const CSRF_HEADER = 'x-airlock-csrf';
/** A working day; past it the person signs in again. */
export const WEB_SESSION_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** Browsers one token may have signed in at once: a phone, a laptop, a few tabs' worth of retries. */
export const MAX_WEB_SESSIONS_PER_TOKEN = 32;
/** All tokens together; past it a sign-in is refused rather than signing someone else out. */
export const MAX_WEB_SESSIONS = 1024;

const ID_BYTES = 32;

export interface WebSession {
  readonly principal: Principal;
  readonly csrfToken: string;
  readonly createdAtMs: number;
  readonly expiresAtMs: number;
}

export interface WebSessions {
  /** A new signed-in browser; the id goes into the cookie and is never kept. */
  open(principal: Principal): { readonly id: string; readonly session: WebSession };
  /** The browser's session while it lasts; null for an unknown, closed or expired id. */
  get(id: string): WebSession | null;
  close(id: string): void;
  /** Signs out every browser of a token (it was revoked). */
  closeForToken(tokenId: string): void;
  /** Whether `given` is this session's CSRF token, compared in constant time. */
  csrfMatches(session: WebSession, given: string | undefined): boolean;
}

function digest(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

export function createWebSessions(options: { readonly now?: () => number } = {}): WebSessions {
  const now = options.now ?? Date.now;
  const sessions = new Map<string, WebSession>();

  const sweep = (): void => {
    const at = now();
    for (const [key, session] of sessions) if (session.expiresAtMs <= at) sessions.delete(key);
  };

  return {
    open(principal) {
      sweep();
      const ofToken = [...sessions.entries()].filter(
        ([, held]) => held.principal.tokenId === principal.tokenId,
      );
      // The token's own oldest browser makes room; other people's sign-ins are never touched.
      if (ofToken.length >= MAX_WEB_SESSIONS_PER_TOKEN) {
        const oldest = ofToken.sort(([, a], [, b]) => a.createdAtMs - b.createdAtMs)[0];
        if (oldest !== undefined) sessions.delete(oldest[0]);
      }
      if (sessions.size >= MAX_WEB_SESSIONS) {
        throw new AirlockError(
          'LIMIT_REACHED',
          `${MAX_WEB_SESSIONS} browsers are signed in already; sign some out or restart the server`,
          { max: MAX_WEB_SESSIONS },
        );
      }
      const id = randomBytes(ID_BYTES).toString('base64url');
      const createdAtMs = now();
      const session: WebSession = {
        principal,
        csrfToken: randomBytes(ID_BYTES).toString('base64url'),
        createdAtMs,
        expiresAtMs: createdAtMs + WEB_SESSION_LIFETIME_MS,
      };
      sessions.set(digest(id), session);
      return { id, session };
    },
    get(id) {
      const key = digest(id);
      const session = sessions.get(key);
      if (session === undefined) return null;
      if (session.expiresAtMs <= now()) {
        sessions.delete(key);
        return null;
      }
      return session;
    },
    close(id) {
      sessions.delete(digest(id));
    },
    closeForToken(tokenId) {
      for (const [key, session] of sessions) if (session.principal.tokenId === tokenId) sessions.delete(key);
    },
    csrfMatches(session, given) {
      if (given === undefined) return false;
      const expected = Buffer.from(digest(session.csrfToken), 'hex');
      return timingSafeEqual(expected, Buffer.from(digest(given), 'hex'));
    },
  };
}

/** The value of one cookie in a Cookie header, or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const separator = part.indexOf('=');
    if (separator > 0 && part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}

/**
 * The Set-Cookie value: HttpOnly (script never reads it), SameSite=Strict (no other site's page sends
 * it), Path=/ (the API and the page), Secure when the page came over TLS.
 */
export function sessionCookie(
  value: string,
  options: { readonly maxAgeS: number; readonly secure: boolean },
): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${options.maxAgeS}`,
    ...(options.secure ? ['Secure'] : []),
  ].join('; ');
}

// Security limitations:
// - Over plain HTTP (loopback, the default) the cookie is not Secure: anyone who can read the traffic
//   can take it. Serve the dashboard over TLS when it leaves the machine: behind a reverse proxy that
//   terminates TLS, set server.trustProxy so the cookie is Secure when the browser came over HTTPS.
// - A signed-in browser lasts until its lifetime ends, it signs out, its token is revoked, or the server
//   restarts; there is no idle timeout, since the page keeps polling while open.
