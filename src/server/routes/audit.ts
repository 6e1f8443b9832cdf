import type { Airlock } from '../../airlock/index.ts';
import type { AuditEventType } from '../../store/index.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { writeDrained } from '../sse.ts';
import { auditExportQuery, auditList, auditQuery, verifyResult } from '../audit-schemas.ts';

function eventQuery(query: {
  afterSeq?: number | undefined;
  beforeSeq?: number | undefined;
  sessionId?: string | undefined;
  commandId?: string | undefined;
  type?: AuditEventType[] | undefined;
}) {
  return {
    ...(query.afterSeq === undefined ? {} : { afterSeq: query.afterSeq }),
    ...(query.beforeSeq === undefined ? {} : { beforeSeq: query.beforeSeq }),
    ...(query.sessionId === undefined ? {} : { sessionId: query.sessionId }),
    ...(query.commandId === undefined ? {} : { commandId: query.commandId }),
    ...(query.type === undefined ? {} : { types: query.type }),
  };
}

/** The audit log is the operator's: the admin token, and people's viewer and approver tokens. */
export function auditRoutes({ airlock }: { readonly airlock: Airlock }): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/audit',
      summary: 'Query audit events, oldest first (page forwards with afterSeq, backwards with beforeSeq)',
      tag: 'audit',
      access: 'admin',
      people: 'see',
      query: auditQuery,
      response: { status: 200, description: 'Events with their hash chain', schema: auditList },
      handler: async ({ query }) => ({
        events: await airlock.audit.list({
          ...eventQuery(query),
          ...(query.limit === undefined ? {} : { limit: query.limit }),
        }),
      }),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/export',
      summary: 'Export audit events as JSON lines (each line re-verifiable away from the store)',
      tag: 'audit',
      access: 'admin',
      people: 'see',
      query: auditExportQuery,
      response: { status: 200, description: 'One event per line', contentType: 'application/x-ndjson' },
      handler: async ({ query, reply }) => {
        reply.hijack();
        const response = reply.raw;
        response.writeHead(200, {
          'content-type': 'application/x-ndjson; charset=utf-8',
          'cache-control': 'no-store',
        });
        const gone = new AbortController();
        response.on('close', () => gone.abort());
        try {
          await airlock.audit.exportJsonl(
            (line) => {
              // Stops the export when the client leaves; waits when it reads slower than the store.
              if (gone.signal.aborted) throw gone.signal.reason;
              return writeDrained(response, `${line}\n`);
            },
            {
              ...eventQuery(query),
              ...(query.maxEvents === undefined ? {} : { maxEvents: query.maxEvents }),
            },
          );
        } catch (error) {
          // The status line is sent: a broken transfer (no final chunk) is how the client learns the
          // export is incomplete, rather than a clean end that looks like the whole log.
          if (!gone.signal.aborted) response.destroy(error as Error);
          return undefined;
        }
        response.end();
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/audit/verify',
      summary: 'Check the hash chain of the whole audit log',
      tag: 'audit',
      access: 'admin',
      people: 'see',
      response: {
        status: 200,
        description: 'ok, or the first event that does not verify',
        schema: verifyResult,
      },
      handler: () => airlock.audit.verify(),
    }),
  ];
}
