/**
 * Who is asking, and whether they may: a bearer token (admin, session, or a person's viewer/approver
 * token), or, on /v1 routes only, the cookie of a signed-in browser. Every change made with the cookie
 * needs the session's CSRF token and a same-origin request; every request is rate limited per token.
 */
import type { FastifyRequest } from 'fastify';
import type { AccessTokens } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { RateLimiter } from '../router/index.ts';
import type { RouteSpec } from './route.ts';
import type { Principal, TokenRegistry } from './tokens.ts';
import { CSRF_HEADER, readCookie, SESSION_COOKIE } from './web-sessions.ts';
import type { WebSession, WebSessions } from './web-sessions.ts';

const BEARER = /^Bearer +([\x21-\x7e]+) *$/i;
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface AuthenticatorParts {
  readonly tokens: TokenRegistry;
  readonly accessTokens: AccessTokens;
  readonly webSessions: WebSessions;
  readonly limiter: RateLimiter;
  /** What to send, for the message of a 401. */
  readonly tokenHint: string;
}

export type Authenticate = (
  request: FastifyRequest,
  route: Pick<RouteSpec, 'access' | 'people'>,
) => Promise<Principal | null>;

/** A person's token, resolved from the store; null when it is unknown, revoked or expired. */
export async function resolvePersonToken(
  accessTokens: AccessTokens,
  token: string,
): Promise<Principal | null> {
  const info = await accessTokens.resolve(token);
  return info === null ? null : { kind: info.role, tokenId: info.id, name: info.name };
}

/** Any token a request may carry: admin and session tokens in memory, people's in the store. */
export async function resolveAnyToken(parts: AuthenticatorParts, token: string): Promise<Principal | null> {
  return parts.tokens.resolve(token) ?? (await resolvePersonToken(parts.accessTokens, token));
}

/** Failed attempts share one bucket per address, so guessing tokens or cookies is slowed as well. */
export function refuseUnknown(limiter: RateLimiter, request: FastifyRequest, message: string): never {
  const taken = limiter.take(`anonymous:${request.ip}`);
  if (!taken.allowed) throw rateLimited(taken.retryAfterMs);
  throw new AirlockError('UNAUTHENTICATED', message);
}

/** Each token's requests, from any channel, count against one bucket. */
export function takeForToken(limiter: RateLimiter, principal: Principal): void {
  const taken = limiter.take(`token:${principal.tokenId}`);
  if (!taken.allowed) throw rateLimited(taken.retryAfterMs);
}

/**
 * Refuses a request a browser marks as coming from another site: signing in or changing anything
 * with the cookie is for the dashboard's own page only.
 */
export function rejectCrossSite(request: FastifyRequest): void {
  const site = request.headers['sec-fetch-site'];
  const origin = request.headers.origin;
  // request.protocol and request.host read X-Forwarded-Proto/-Host only with server.trustProxy.
  const ownOrigin = `${request.protocol}://${request.host}`;
  if (
    (site !== undefined && site !== 'same-origin' && site !== 'none') ||
    (origin !== undefined && origin !== ownOrigin)
  ) {
    throw new AirlockError('FORBIDDEN', 'this must come from the dashboard itself, not another site', {
      reason: 'csrf',
    });
  }
}

export function createAuthenticator(parts: AuthenticatorParts): Authenticate {
  const { limiter, webSessions } = parts;

  const refuseAnonymous = (request: FastifyRequest, message: string): never =>
    refuseUnknown(limiter, request, message);

  const fromBearer = async (request: FastifyRequest, header: string): Promise<Principal> => {
    const match = BEARER.exec(header);
    const principal = match?.[1] === undefined ? null : await resolveAnyToken(parts, match[1]);
    if (principal !== null) return principal;
    return refuseAnonymous(
      request,
      match === null
        ? 'the Authorization header must be "Bearer <token>"'
        : 'unknown token: it was never issued by this server, was revoked, or its session has ended',
    );
  };

  const fromCookie = async (request: FastifyRequest, value: string): Promise<Principal> => {
    const session = webSessions.get(value);
    // A person's token revoked after sign-in (here or by the CLI on the shared store) ends the sign-in.
    const stillValid =
      session !== null &&
      (session.principal.kind === 'admin' ||
        (await parts.accessTokens.current(session.principal.tokenId)) !== null);
    if (session === null || !stillValid) {
      if (session !== null) webSessions.close(value);
      return refuseAnonymous(
        request,
        'your dashboard sign-in has ended (expired, signed out or revoked): sign in again',
      );
    }
    if (!SAFE_METHODS.has(request.method)) checkCsrf(request, session, webSessions);
    return session.principal;
  };

  return async (request, route) => {
    if (route.access === 'none') return null;
    const header = request.headers.authorization;
    const cookie =
      header === undefined && request.url.startsWith('/v1/')
        ? readCookie(request.headers.cookie, SESSION_COOKIE)
        : undefined;
    const principal =
      header !== undefined
        ? await fromBearer(request, header)
        : cookie !== undefined
          ? await fromCookie(request, cookie)
          : refuseAnonymous(
              request,
              `missing bearer token: send Authorization: Bearer <token> with ${parts.tokenHint}`,
            );
    takeForToken(limiter, principal);
    authorize(principal, route);
    return principal;
  };
}

/** The route's access against the principal's kind; see RouteSpec.access and RouteSpec.people. */
export function authorize(principal: Principal, route: Pick<RouteSpec, 'access' | 'people'>): void {
  switch (principal.kind) {
    case 'admin':
      return;
    case 'session':
      if (route.access === 'admin') {
        throw new AirlockError(
          'FORBIDDEN',
          'this route needs the admin token; a session token reaches only its own session',
        );
      }
      return;
    case 'viewer':
    case 'approver':
      // A person's token reaches only what a route opens to people: a new route stays closed to them
      // (running commands, creating sessions, files) until someone decides otherwise.
      if (route.people === undefined) {
        throw new AirlockError(
          'FORBIDDEN',
          `a ${principal.kind} token watches and decides; this route needs the admin token`,
          { role: principal.kind },
        );
      }
      if (route.people === 'decide' && principal.kind === 'viewer') {
        throw new AirlockError(
          'FORBIDDEN',
          'a viewer can look but not decide: this needs an approver token',
          {
            role: principal.kind,
          },
        );
      }
      return;
    default:
      return assertNever(principal);
  }
}

/**
 * A change made with the cookie must come from the dashboard's own page: the CSRF token (readable
 * only by same-origin script) and, when the browser says where the request comes from, this origin.
 */
function checkCsrf(request: FastifyRequest, session: WebSession, webSessions: WebSessions): void {
  rejectCrossSite(request);
  const given = request.headers[CSRF_HEADER];
  if (!webSessions.csrfMatches(session, typeof given === 'string' ? given : undefined)) {
    throw new AirlockError(
      'FORBIDDEN',
      `a change made with the dashboard cookie needs the ${CSRF_HEADER} header from GET /v1/auth/session`,
      { reason: 'csrf' },
    );
  }
}

export function rateLimited(retryAfterMs: number): AirlockError {
  return new AirlockError('RATE_LIMITED', `too many requests; retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
    retryAfterMs,
  });
}

function assertNever(value: never): never {
  throw new AirlockError('INTERNAL', `unknown principal ${JSON.stringify(value)}`);
}
