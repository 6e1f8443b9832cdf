import type { FastifyRequest } from 'fastify';
import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import type { AuthenticatorParts } from '../authenticate.ts';
import { rejectCrossSite, refuseUnknown, resolveAnyToken, takeForToken } from '../authenticate.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import type { Principal } from '../tokens.ts';
import { signedIn, signInBody } from '../watch-schemas.ts';
import { readCookie, SESSION_COOKIE, sessionCookie, WEB_SESSION_LIFETIME_MS } from '../web-sessions.ts';
import type { WebSession } from '../web-sessions.ts';

export interface AuthRouteParts extends AuthenticatorParts {
  readonly airlock: Airlock;
}

function describe(principal: Principal, session: WebSession | null) {
  return {
    role: principal.kind,
    tokenId: principal.tokenId,
    name: principal.kind === 'viewer' || principal.kind === 'approver' ? principal.name : null,
    csrfToken: session?.csrfToken ?? null,
    expiresAt: session === null ? null : new Date(session.expiresAtMs).toISOString(),
  };
}

/** The browser's own sign-in, when the request came with its cookie. */
function cookieSession(parts: AuthRouteParts, request: FastifyRequest, principal: Principal | null) {
  const value = readCookie(request.headers.cookie, SESSION_COOKIE);
  const session = value === undefined ? null : parts.webSessions.get(value);
  return session !== null && principal !== null && session.principal.tokenId === principal.tokenId
    ? { value: value as string, session }
    : null;
}

/**
 * Signing in to the dashboard: a token in the body (never in a URL, where logs and history keep it)
 * for a session cookie. Agents' session tokens cannot sign in: the dashboard is for people.
 */
export function authRoutes(parts: AuthRouteParts): RouteSpec[] {
  const { webSessions, airlock } = parts;
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/auth/session',
      summary: 'Sign a browser in: a token for an HttpOnly, SameSite=Strict session cookie and a CSRF token',
      tag: 'auth',
      access: 'none',
      body: signInBody,
      response: { status: 200, description: 'Signed in; the cookie is set', schema: signedIn },
      handler: async ({ request, reply, body }) => {
        rejectCrossSite(request);
        const principal = await resolveAnyToken(parts, body.token);
        if (principal === null) {
          return refuseUnknown(
            parts.limiter,
            request,
            'unknown token: it was never issued by this server or was revoked',
          );
        }
        if (principal.kind === 'session') {
          throw new AirlockError(
            'FORBIDDEN',
            "a session token is an agent's; sign in with the admin token or a viewer or approver token",
          );
        }
        takeForToken(parts.limiter, principal);
        const { id, session } = webSessions.open(principal);
        await airlock.accessTokens.signedIn({ role: principal.kind, tokenId: principal.tokenId });
        void reply.header(
          'set-cookie',
          sessionCookie(id, {
            maxAgeS: WEB_SESSION_LIFETIME_MS / 1000,
            secure: request.protocol === 'https',
          }),
        );
        void reply.header('cache-control', 'no-store');
        return describe(principal, session);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/auth/session',
      summary: 'Who is signed in, and the CSRF token of this browser (null without the cookie)',
      tag: 'auth',
      access: 'any',
      people: 'see',
      response: { status: 200, description: 'The signed-in principal', schema: signedIn },
      handler: async ({ principal, request, reply }) => {
        void reply.header('cache-control', 'no-store');
        const signedInHere = cookieSession(parts, request, principal);
        return describe(principal as Principal, signedInHere?.session ?? null);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/auth/session',
      summary: 'Sign this browser out',
      tag: 'auth',
      access: 'any',
      people: 'see',
      response: { status: 200, description: 'Signed out; the cookie is cleared', schema: signedIn },
      handler: async ({ principal, request, reply }) => {
        const signedInHere = cookieSession(parts, request, principal);
        if (signedInHere !== null) webSessions.close(signedInHere.value);
        void reply.header(
          'set-cookie',
          sessionCookie('', { maxAgeS: 0, secure: request.protocol === 'https' }),
        );
        return describe(principal as Principal, null);
      },
    }),
  ];
}
