import { z } from 'zod';
import type { Airlock } from '../../airlock/index.ts';
import { AirlockError } from '../../errors/index.ts';
import { liveSessionFor } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { sessionParams } from '../schemas.ts';

export interface FileChangeRouteParts {
  readonly airlock: Airlock;
}

const sandboxPath = z.string().min(1).max(4096);
const pathQuery = z.object({ path: sandboxPath }).strict();
const mkdirBody = z.object({ path: sandboxPath }).strict();
const renameBody = z.object({ from: sandboxPath, to: sandboxPath }).strict();
const writeManyBody = z
  .object({
    files: z
      .array(
        z
          .object({
            path: sandboxPath,
            /** The file's bytes as UTF-8 text (the default) or base64. */
            content: z.string(),
            encoding: z.enum(['utf8', 'base64']).optional(),
          })
          .strict(),
      )
      .min(1)
      .max(1000),
  })
  .strict();
const changeResult = z.object({
  status: z.enum(['completed', 'denied']),
  paths: z.array(z.string()),
  approvalId: z.string().nullable(),
  reasons: z.array(z.string()),
});
const statResult = z.object({
  entry: z
    .object({
      path: z.string(),
      name: z.string(),
      kind: z.enum(['file', 'directory', 'symlink', 'other']),
      sizeBytes: z.number().int().nonnegative(),
      modifiedMs: z.number().int().nonnegative(),
    })
    .nullable(),
});

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytesOf(content: string, encoding: 'utf8' | 'base64' | undefined, path: string): Buffer {
  if (encoding !== 'base64') return Buffer.from(content, 'utf8');
  // Buffer.from skips what is not base64 silently: a typo would write different bytes than meant.
  if (content.length % 4 !== 0 || !BASE64.test(content)) {
    throw new AirlockError('INVALID_ARGUMENT', `the content for ${path} is not valid base64`, {
      field: 'content',
      path,
    });
  }
  return Buffer.from(content, 'base64');
}

/**
 * The files API beside write/read/list: stat (exists), mkdir, remove, rename, and many writes in one
 * call. Changes are approved like writes (router.approvalRequiredFor: write_file) and audited.
 */
export function fileChangeRoutes({ airlock }: FileChangeRouteParts): RouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/files/stat',
      summary: 'What is at a path in the sandbox (a symlink as itself); entry is null when nothing is',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: pathQuery,
      response: { status: 200, description: 'The entry, or null', schema: statResult },
      handler: async ({ principal, params, query }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return { entry: await session.files.stat(query.path) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/sessions/:id/files',
      summary: 'Remove a file, a symlink (not its target) or a directory with its contents',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: pathQuery,
      response: { status: 200, description: 'Removed, or denied by a person', schema: changeResult },
      handler: async ({ principal, params, query }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.remove(query.path);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/files/mkdir',
      summary: 'Create a directory and its parents',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      body: mkdirBody,
      response: { status: 200, description: 'Created, or denied by a person', schema: changeResult },
      handler: async ({ principal, params, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.mkdir(body.path);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/files/rename',
      summary: 'Rename a file or directory inside the sandbox',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      body: renameBody,
      response: { status: 200, description: 'Renamed, or denied by a person', schema: changeResult },
      handler: async ({ principal, params, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.rename(body.from, body.to);
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:id/files/batch',
      summary: 'Write many files at once, after one approval when one is needed',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      body: writeManyBody,
      response: { status: 200, description: 'Written, or denied by a person', schema: changeResult },
      handler: async ({ principal, params, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.writeMany(
          body.files.map((file) => ({
            path: file.path,
            data: bytesOf(file.content, file.encoding, file.path),
          })),
        );
      },
    }),
  ];
}
