import type { Airlock } from '../../airlock/index.ts';
import { actorOf } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import {
  accessTokenInfo,
  accessTokenList,
  createAccessTokenBody,
  createdAccessToken,
  tokenParams,
} from '../watch-schemas.ts';
import type { WebSessions } from '../web-sessions.ts';

/** People's tokens are the admin's to hand out and take back. */
export function tokenRoutes({
  airlock,
  webSessions,
}: {
  readonly airlock: Airlock;
  readonly webSessions: WebSessions;
}): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/tokens',
      summary: "List people's tokens (viewer, approver), revoked ones included; never the tokens themselves",
      tag: 'tokens',
      access: 'admin',
      response: { status: 200, description: 'Tokens, oldest first', schema: accessTokenList },
      handler: async () => ({ tokens: await airlock.accessTokens.list() }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/tokens',
      summary: 'Mint a viewer or approver token for a person (for the dashboard or the API)',
      tag: 'tokens',
      access: 'admin',
      body: createAccessTokenBody,
      response: { status: 201, description: 'The token; shown once', schema: createdAccessToken },
      handler: async ({ principal, body }) => {
        const { token, info } = await airlock.accessTokens.create({ ...body, createdBy: actorOf(principal) });
        return { ...info, token };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/tokens/:tokenId',
      summary: "Revoke a person's token: it stops working at once and its browsers are signed out",
      tag: 'tokens',
      access: 'admin',
      params: tokenParams,
      response: { status: 200, description: 'The revoked token', schema: accessTokenInfo },
      handler: async ({ principal, params }) => {
        const info = await airlock.accessTokens.revoke(params.tokenId, { revokedBy: actorOf(principal) });
        webSessions.closeForToken(info.id);
        return info;
      },
    }),
  ];
}
