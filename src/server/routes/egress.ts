import type { Airlock } from '../../airlock/index.ts';
import { actorOf } from '../access.ts';
import {
  egressGrantBody,
  egressGrantQuery,
  egressList,
  egressOverview,
  egressQuery,
} from '../egress-schemas.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { sessionParams } from '../schemas.ts';

/**
 * Egress for people: viewers see every session's connections, refused hosts and grants; approvers also
 * grant a host for the rest of a session, or withdraw a grant. Agents' session tokens reach none of it:
 * a session granting itself a host would be its own approver.
 */
export function egressRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/egress',
      summary:
        "Live sessions' egress: allow-list, connections since the proxy started, grants, pending asks, refused hosts",
      tag: 'egress',
      access: 'admin',
      people: 'see',
      query: egressQuery,
      response: { status: 200, description: 'One entry per live session with a network', schema: egressList },
      handler: async ({ query }) => ({
        sessions: airlock.egress
          .sessions()
          .filter((entry) => query.sessionId === undefined || entry.sessionId === query.sessionId),
      }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/egress/grants',
      summary:
        'Allow a host and port for the rest of a live session, as approving its ask with remember would; audited as egress.granted',
      tag: 'egress',
      access: 'admin',
      people: 'decide',
      params: sessionParams,
      body: egressGrantBody,
      response: { status: 200, description: "The session's egress with the grant", schema: egressOverview },
      handler: ({ principal, params, body }) =>
        airlock.egress.grant(params.id, body, { decidedBy: actorOf(principal) }),
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/sessions/:id/egress/grants',
      summary:
        'Withdraw a grant of a host and port (connections already open keep going); audited as egress.grant_revoked',
      tag: 'egress',
      access: 'admin',
      people: 'decide',
      params: sessionParams,
      query: egressGrantQuery,
      response: {
        status: 200,
        description: "The session's egress without the grant",
        schema: egressOverview,
      },
      handler: ({ principal, params, query }) =>
        airlock.egress.revokeGrant(params.id, query, { decidedBy: actorOf(principal) }),
    }),
  ];
}
