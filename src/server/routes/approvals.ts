import type { Airlock } from '../../airlock/index.ts';
import { actorOf } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { approvalList, approvalParams, approvalRecord, approvalsQuery, decideBody } from '../schemas.ts';

/** Deciding is for people holding the admin token: a session token could otherwise approve its own commands. */
export function approvalRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/approvals',
      summary: 'List approval requests',
      tag: 'approvals',
      access: 'admin',
      people: 'see',
      query: approvalsQuery,
      response: { status: 200, description: 'Approval requests, oldest first', schema: approvalList },
      handler: async ({ query }) => ({ approvals: await airlock.approvals.list(query) }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/approvals/:approvalId',
      summary: 'One approval request',
      tag: 'approvals',
      access: 'admin',
      people: 'see',
      params: approvalParams,
      response: { status: 200, description: 'The request', schema: approvalRecord },
      handler: ({ params }) => airlock.approvals.get(params.approvalId),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/approvals/:approvalId',
      summary:
        'Approve or deny a pending request, once or for the rest of the session (`scope`: one of its grants); 409 APPROVAL_CLOSED when already decided or expired',
      tag: 'approvals',
      access: 'admin',
      people: 'decide',
      params: approvalParams,
      body: decideBody,
      response: { status: 200, description: 'The decided request', schema: approvalRecord },
      handler: ({ principal, params, body }) => {
        const options = {
          reason: body.reason,
          scope: body.scope,
          remember: body.remember,
          decidedBy: actorOf(principal),
        };
        return body.decision === 'approve'
          ? airlock.approvals.approve(params.approvalId, options)
          : airlock.approvals.deny(params.approvalId, options);
      },
    }),
  ];
}
