import type { Airlock, SessionInfo } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { assertSessionAccess } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import {
  createdSession,
  createSessionBody,
  listSessionsQuery,
  mintedToken,
  networkBody,
  sessionInfo,
  sessionList,
  sessionParams,
} from '../schemas.ts';
import type { TokenRegistry } from '../tokens.ts';

export interface SessionRouteParts {
  readonly airlock: Airlock;
  readonly tokens: TokenRegistry;
}

export function sessionRoutes({ airlock, tokens }: SessionRouteParts): RouteSpec[] {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/sessions',
      summary: 'Create a session: a fresh sandbox, with a token scoped to it',
      tag: 'sessions',
      access: 'admin',
      body: createSessionBody,
      response: { status: 201, description: 'The session and its token', schema: createdSession },
      handler: async ({ body }) => {
        // The cluster's layer has already placed the request on the node it names (this one).
        const { node, ...spec } = body;
        if (node !== undefined && airlock.cluster === null) {
          throw new AirlockError(
            'INVALID_ARGUMENT',
            'node names a cluster node, and this control plane is not in a cluster',
            {
              field: 'node',
            },
          );
        }
        const session = await airlock.sessions.create(spec);
        const token = tokens.mintSessionToken(session.id);
        return { ...(await session.info()), token };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions',
      summary: 'List sessions (a session token sees only its own)',
      tag: 'sessions',
      access: 'any',
      people: 'see',
      query: listSessionsQuery,
      response: { status: 200, description: 'Sessions, oldest first', schema: sessionList },
      handler: async ({ principal, query }) => {
        if (principal?.kind === 'session') {
          const own = await airlock.sessions.info(principal.sessionId);
          return { sessions: query.state === undefined || own.state === query.state ? [own] : [] };
        }
        const records = await airlock.sessions.list({ ...query, limit: query.limit ?? 100 });
        const sessions: SessionInfo[] = [];
        for (const record of records) sessions.push(await airlock.sessions.info(record.id));
        return { sessions };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id',
      summary: 'A session: state, limits, isolation and latest resource usage',
      tag: 'sessions',
      access: 'any',
      people: 'see',
      params: sessionParams,
      response: { status: 200, description: 'The session', schema: sessionInfo },
      handler: async ({ principal, params }) => {
        assertSessionAccess(principal, params.id);
        return airlock.sessions.info(params.id);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/sessions/:id',
      summary: 'End a session: kill its commands and destroy its sandbox',
      tag: 'sessions',
      access: 'any',
      people: 'decide',
      params: sessionParams,
      response: { status: 200, description: 'The ended session', schema: sessionInfo },
      handler: async ({ principal, params }) => {
        assertSessionAccess(principal, params.id);
        await airlock.sessions.destroy(params.id);
        tokens.revokeSession(params.id);
        return airlock.sessions.info(params.id);
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/sessions/:id/network',
      summary:
        "Change a live session's network list (its sandbox.network object, never wider than the server's configuration); open connections keep going",
      tag: 'sessions',
      // A session token could otherwise widen its own way out.
      access: 'admin',
      params: sessionParams,
      body: networkBody,
      response: {
        status: 200,
        description: 'The session, with its network as it is now',
        schema: sessionInfo,
      },
      handler: ({ params, body }) => airlock.sessions.setNetwork(params.id, body),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/tokens',
      summary: 'Mint another token scoped to this session, to hand to an agent',
      tag: 'sessions',
      access: 'admin',
      params: sessionParams,
      response: { status: 201, description: 'The new token; shown once', schema: mintedToken },
      handler: async ({ params }) => {
        // Only a live session gets tokens: a token for an ended one could never be used.
        await airlock.sessions.get(params.id);
        return { token: tokens.mintSessionToken(params.id) };
      },
    }),
  ];
}
