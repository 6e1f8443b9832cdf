/**
 * A live session's commands in flight and its lifetime: what an SDK needs beside running commands
 * (E2B's `commands.list` and `setTimeout`).
 */
import { z } from 'zod';
import type { Airlock } from '../../airlock/index.ts';
import { assertSessionAccess } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { runResult, sessionInfo, sessionParams } from '../schemas.ts';

export const extendSessionBody = z
  .object({
    /** The session ends this long from now; at most `sessions.maxLifetime` after its creation. */
    expiresInMs: z.number().int().positive(),
  })
  .strict();

export const commandList = z.object({ commands: z.array(runResult) }).strict();

export function sessionCommandRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/commands',
      summary: 'The commands in flight in a session (running, or waiting for approval), oldest first',
      tag: 'commands',
      access: 'any',
      params: sessionParams,
      response: { status: 200, description: 'Commands in flight', schema: commandList },
      handler: async ({ principal, params }) => {
        assertSessionAccess(principal, params.id);
        // A missing or ended session is an error, not an empty list: a typo must not read as "idle".
        await airlock.sessions.get(params.id);
        return { commands: airlock.commands.list({ within: params.id }) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/sessions/:id',
      summary: "Move the end of a session's lifetime (at most sessions.maxLifetime after its creation)",
      tag: 'sessions',
      access: 'any',
      params: sessionParams,
      body: extendSessionBody,
      response: { status: 200, description: 'The session with its new expiresAt', schema: sessionInfo },
      handler: async ({ principal, params, body }) => {
        assertSessionAccess(principal, params.id);
        return airlock.sessions.extend(params.id, body.expiresInMs);
      },
    }),
  ];
}
