import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { DEFAULT_COMMAND_PAGE } from '../../store/index.ts';
import { assertSessionAccess } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import type { Principal } from '../tokens.ts';
import { commandList, commandListQuery, usageList, usageQuery } from '../watch-schemas.ts';

/** A session token lists its own session only; asking for another answers as if it did not exist. */
function scopedSession(principal: Principal | null, sessionId: string | undefined): string | undefined {
  if (principal?.kind !== 'session') return sessionId;
  if (sessionId !== undefined) assertSessionAccess(principal, sessionId);
  return principal.sessionId;
}

/** What every session is doing: its commands, newest first, and its recent resource use. */
export function activityRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/commands',
      summary: 'Commands of every session (or one), newest first; filter by state, search the command text',
      tag: 'commands',
      access: 'any',
      people: 'see',
      query: commandListQuery,
      response: { status: 200, description: 'One page of commands', schema: commandList },
      handler: async ({ principal, query }) => {
        const sessionId = scopedSession(principal, query.sessionId);
        const limit = query.limit ?? DEFAULT_COMMAND_PAGE;
        const commands = await airlock.commands.list({
          limit,
          ...(sessionId === undefined ? {} : { sessionId }),
          ...(query.state === undefined ? {} : { states: query.state }),
          ...(query.q === undefined ? {} : { text: query.q }),
          ...(query.before === undefined ? {} : { beforeId: query.before }),
        });
        return { commands, next: commands.length === limit ? (commands.at(-1)?.id ?? null) : null };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/usage',
      summary: "Live sessions' memory, processes and CPU over the last minutes, for charts",
      tag: 'sessions',
      access: 'any',
      people: 'see',
      query: usageQuery,
      response: { status: 200, description: 'Samples per session, oldest first', schema: usageList },
      handler: async ({ principal, query }) => {
        const only = scopedSession(principal, query.sessionId);
        const ids =
          only !== undefined
            ? [only]
            : (await airlock.sessions.list({ state: 'active' })).map((record) => record.id);
        if (only !== undefined && (await airlock.sessions.info(only).catch(() => null)) === null) {
          throw new AirlockError('NOT_FOUND', `no session ${JSON.stringify(only).slice(0, 80)}`, {
            sessionId: only,
          });
        }
        return {
          sessions: ids.map((sessionId) => ({ sessionId, samples: [...airlock.sessions.usage(sessionId)] })),
        };
      },
    }),
  ];
}
