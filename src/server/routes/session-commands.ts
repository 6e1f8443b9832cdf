/**
 * A live session's commands in flight and its lifetime: what an SDK needs beside running commands
 * (E2B's `commands.list` and `setTimeout`).
 */
import { z } from 'zod';
import type { Airlock } from '../../airlock/index.ts';
import { assertSessionAccess } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { commandParams, runResult, sessionInfo, sessionParams } from '../schemas.ts';

export const extendSessionBody = z
  .object({
    /** The session ends this long from now; at most `sessions.maxLifetime` after its creation. */
    expiresInMs: z.number().int().positive(),
  })
  .strict();

export const commandList = z.object({ commands: z.array(runResult) }).strict();

export const commandInputBody = z
  .object({
    /** Text for the command (UTF-8). */
    data: z.string().optional(),
    /** Bytes for the command, base64; not with `data`. */
    dataBase64: z.base64().optional(),
    /** End of input after the data (a pipe is closed; a terminal takes ^D instead). */
    end: z.boolean().optional(),
    /** A new terminal size. */
    resize: z
      .object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((body) => body.data === undefined || body.dataBase64 === undefined, {
    message: 'give data or dataBase64, not both',
    path: ['dataBase64'],
  });

export const commandInputResult = z.object({ written: z.number().int().nonnegative() }).strict();

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
        return { commands: airlock.commands.running({ within: params.id }) };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/commands/:commandId/input',
      summary: 'Type into an interactive command (recorded, redacted), end its input, or resize its terminal',
      tag: 'commands',
      access: 'any',
      params: commandParams,
      body: commandInputBody,
      response: { status: 200, description: 'How many bytes the command took', schema: commandInputResult },
      handler: async ({ principal, params, body }) => {
        assertSessionAccess(principal, params.id);
        const scope = { within: params.id };
        if (body.resize !== undefined) await airlock.commands.resize(params.commandId, body.resize, scope);
        const data =
          body.data !== undefined
            ? Buffer.from(body.data, 'utf8')
            : body.dataBase64 !== undefined
              ? Buffer.from(body.dataBase64, 'base64')
              : undefined;
        return airlock.commands.sendInput(
          params.commandId,
          { ...(data === undefined ? {} : { data }), ...(body.end === undefined ? {} : { end: body.end }) },
          scope,
        );
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
