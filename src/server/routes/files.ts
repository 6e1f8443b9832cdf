import type { Airlock } from '../../airlock/index.ts';
import { liveSessionFor } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { fileList, fileQuery, fileWriteResult, sessionParams } from '../schemas.ts';

export interface FileRouteParts {
  readonly airlock: Airlock;
  /** The sandbox's file-copy limit: an upload over it is refused before it is read whole. */
  readonly maxFileBytes: number;
}

/**
 * Files move only by explicit copies into and out of the sandbox; the path is always a path inside
 * the sandbox (the sandbox refuses `..` and symlinks that leave it), never one on the host.
 */
export function fileRoutes({ airlock, maxFileBytes }: FileRouteParts): RouteSpec[] {
  return [
    defineRoute({
      method: 'PUT',
      url: '/v1/sessions/:id/files',
      summary: 'Copy a file into the sandbox (raw bytes as application/octet-stream)',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: fileQuery,
      body: 'octet-stream',
      bodyLimitBytes: maxFileBytes,
      response: {
        status: 200,
        description:
          'Written, denied, or waiting for a person (after ?approvalWaitMs=, default router.approvalWait; at once with ?wait=false)',
        schema: fileWriteResult,
      },
      handler: async ({ principal, params, query, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.write(query.path, body as Buffer, {
          ...(query.wait === false ? { waitForApproval: false } : {}),
          ...(query.approvalWaitMs === undefined ? {} : { approvalWaitMs: query.approvalWaitMs }),
        });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/files',
      summary: 'Copy a file out of the sandbox',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: fileQuery,
      response: { status: 200, description: "The file's bytes", contentType: 'application/octet-stream' },
      handler: async ({ principal, params, query, reply }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        const data = await session.files.read(query.path);
        await reply.code(200).type('application/octet-stream').send(data);
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/files/list',
      summary: 'List a directory in the sandbox',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: fileQuery,
      response: { status: 200, description: 'Directory entries', schema: fileList },
      handler: async ({ principal, params, query }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return { entries: await session.files.list(query.path) };
      },
    }),
  ];
}
