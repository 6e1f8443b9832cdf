import { setTimeout as sleep } from 'node:timers/promises';
import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { openSse } from '../sse.ts';
import { auditStreamQuery } from '../watch-schemas.ts';

/** How soon a new event reaches a watcher. The store is read, not notified, so events other processes append (the CLI deciding, another control plane) arrive too. */
export const AUDIT_STREAM_POLL_MS = 500;
/** Streams open at once on one server; each reads the store twice a second. */
export const MAX_AUDIT_STREAMS = 32;
/** Events read per round: a watcher far behind catches up in pages, at the pace it reads. */
const PAGE = 500;

/** The audit log as it grows: every event after `afterSeq`, then each new one, as server-sent events. */
export function auditStreamRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  let open = 0;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audit/stream',
      summary: 'Follow the audit log: events after afterSeq, then each new one (server-sent events)',
      tag: 'audit',
      access: 'admin',
      people: 'see',
      query: auditStreamQuery,
      response: {
        status: 200,
        description:
          `text/event-stream of \`event: audit\` (an audit event); at most ${MAX_AUDIT_STREAMS} streams per ` +
          'server, more are answered 429 LIMIT_REACHED. Reconnect with afterSeq set to the last seq seen.',
        contentType: 'text/event-stream',
      },
      handler: async ({ query, reply }) => {
        if (open >= MAX_AUDIT_STREAMS) {
          throw new AirlockError('LIMIT_REACHED', `${MAX_AUDIT_STREAMS} audit streams are open; close one`, {
            max: MAX_AUDIT_STREAMS,
          });
        }
        open++;
        reply.hijack();
        const stream = openSse(reply.raw);
        let afterSeq = query.afterSeq ?? 0;
        try {
          while (!stream.signal.aborted) {
            const events = await airlock.audit.list({
              afterSeq,
              limit: PAGE,
              ...(query.sessionId === undefined ? {} : { sessionId: query.sessionId }),
              ...(query.type === undefined ? {} : { types: query.type }),
            });
            // Each write waits for the socket: a slow reader slows this loop, never the server's memory.
            for (const event of events) await stream.send('audit', event);
            afterSeq = events.at(-1)?.seq ?? afterSeq;
            if (events.length < PAGE)
              await sleep(AUDIT_STREAM_POLL_MS, undefined, { signal: stream.signal }).catch(() => undefined);
          }
        } catch (error) {
          const known =
            error instanceof AirlockError ? error : new AirlockError('INTERNAL', 'the stream failed');
          await stream.send('error', { code: known.code, message: known.message });
        } finally {
          open--;
          stream.close();
        }
        return undefined;
      },
    }),
  ];
}
