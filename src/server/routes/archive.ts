import { Readable } from 'node:stream';
import { z } from 'zod';
import type { Airlock } from '../../airlock/index.ts';
import { liveSessionFor } from '../access.ts';
import { defineRoute } from '../route.ts';
import type { RouteSpec } from '../route.ts';
import { sessionParams } from '../schemas.ts';

export interface ArchiveRouteParts {
  readonly airlock: Airlock;
}

const archiveQuery = z.object({ path: z.string().min(1).max(4096) }).strict();
const downloadQuery = z
  .object({
    path: z.string().min(1).max(4096),
    /** Changed protected paths: left out with a note (default), or asked about once and added when approved. */
    protected: z.enum(['leave-out', 'ask']).optional(),
    /**
     * Where the summary goes: `headers` (default; the archive is checked whole before it is sent) or
     * `end` (sent as it is checked, the summary as a pax global header `AIRLOCK.summary` before the end
     * marker; an export stopped part way breaks the response off before any end marker).
     */
    summary: z.enum(['headers', 'end']).optional(),
  })
  .strict();
const changesQuery = z
  .object({
    format: z.enum(['json', 'patch']).optional(),
    /** Since this snapshot of the session (or the one it was made from) instead of the last copy in. */
    since: z
      .string()
      .regex(/^snap_[0-9a-f]{24}$/)
      .optional(),
  })
  .strict();
const archiveInResult = z.object({
  status: z.enum(['completed', 'denied']),
  path: z.string(),
  files: z.number().int().nonnegative(),
  directories: z.number().int().nonnegative(),
  bytes: z.number().int().nonnegative(),
  secretFiles: z.array(z.string()),
  approvalId: z.string().nullable(),
  reasons: z.array(z.string()),
});
const changesResult = z.object({
  baseline: z.boolean(),
  since: z.string().optional(),
  added: z.array(z.string()),
  changed: z.array(z.string()),
  deleted: z.array(z.string()),
});

/** A streamed archive goes to the socket in pieces of about this size, not a write per tar header. */
const PIECE_BYTES = 256 * 1024;

/**
 * `archive` (an entry's header, content and padding as separate buffers) gathered into pieces: one
 * socket write and one HTTP chunk per piece. An error of `archive` ends the response broken off.
 */
async function* inPieces(archive: Readable): AsyncGenerator<Buffer, void, undefined> {
  let held: Buffer[] = [];
  let heldBytes = 0;
  for await (const part of archive) {
    held.push(part as Buffer);
    heldBytes += (part as Buffer).length;
    if (heldBytes < PIECE_BYTES) continue;
    yield Buffer.concat(held, heldBytes);
    held = [];
    heldBytes = 0;
  }
  if (heldBytes > 0) yield Buffer.concat(held, heldBytes);
}

/** Headers carry the export's notes; kept small, since proxies cap header sizes. */
const MAX_LEFT_OUT_HEADER_CHARS = 16 * 1024;

/**
 * Whole trees in and out as tar archives. An upload is checked whole before anything is written and
 * unpacked inside the sandbox; a download passes the export checks, and what they left out is named
 * in the `Airlock-Left-Out` header (URI-encoded JSON, `[{ path, why }]`), or, with `summary=end`, in
 * the archive's last header (the download is then sent as it is checked).
 */
export function archiveRoutes({ airlock }: ArchiveRouteParts): RouteSpec[] {
  return [
    defineRoute({
      method: 'PUT',
      url: '/v1/sessions/:id/archive',
      summary: 'Copy a tar archive (optionally gzip) into a sandbox directory, created if missing',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: archiveQuery,
      // Read as it arrives, checked entry by entry and staged in the sandbox: the server never holds
      // the archive whole. The archive checks bound it (maxBytes, maxEntries, headers and padding).
      body: 'stream',
      response: { status: 200, description: 'Unpacked, or denied by a person', schema: archiveInResult },
      handler: async ({ principal, params, query, body }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        return session.files.putArchive(query.path, body as unknown as Readable);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/archive',
      summary: 'Copy a sandbox directory out as a tar archive, through the export checks',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: downloadQuery,
      response: { status: 200, description: 'An uncompressed tar archive', contentType: 'application/x-tar' },
      handler: async ({ principal, params, query, request, reply }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        // The caller hanging up withdraws a question about protected paths still waiting for a person.
        const gone = new AbortController();
        request.raw.once('close', () => gone.abort());
        const outOptions = {
          ...(query.protected === undefined ? {} : { protectedPaths: query.protected }),
          signal: gone.signal,
        };
        if (query.summary === 'end') {
          const streamed = await session.files.streamArchive(query.path, outOptions);
          // Settled by the stream's end or error; the client learns either from the body itself.
          streamed.summary.catch(() => undefined);
          const pieces = inPieces(streamed.stream);
          // An export that fails before its first piece (no such directory, a small tree over a limit)
          // is still answered as an error; after it, the body breaks off with no end marker.
          const first = await pieces.next().catch((error: unknown) => {
            streamed.stream.destroy();
            throw error;
          });
          await reply
            .code(200)
            .type('application/x-tar')
            .header('airlock-summary', 'end')
            .send(
              Readable.from(
                (async function* () {
                  if (first.done !== true) yield first.value;
                  yield* pieces;
                })(),
                { objectMode: false },
              ),
            );
          return undefined;
        }
        const out = await session.files.openArchive(query.path, outOptions);
        let notes = encodeURIComponent(JSON.stringify(out.leftOut));
        if (notes.length > MAX_LEFT_OUT_HEADER_CHARS) {
          const kept = out.leftOut.slice(0, 20);
          notes = encodeURIComponent(
            JSON.stringify([
              ...kept,
              { path: '…', why: `${out.leftOut.length - kept.length} more left out` },
            ]),
          );
        }
        await reply
          .code(200)
          .type('application/x-tar')
          .header('airlock-files', String(out.files))
          .header('airlock-bytes', String(out.bytes))
          .header('airlock-left-out', notes)
          .header('content-length', String(out.sizeBytes))
          .send(out.stream());
        return undefined;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:id/changes',
      summary: 'Files changed under /workspace since a tree was copied in, or a unified diff (?format=patch)',
      tag: 'files',
      access: 'any',
      params: sessionParams,
      query: changesQuery,
      response: { status: 200, description: 'Added, changed and deleted paths', schema: changesResult },
      handler: async ({ principal, params, query, reply }) => {
        const session = await liveSessionFor(airlock, principal, params.id);
        const since = query.since === undefined ? {} : { since: query.since };
        if (query.format !== 'patch') {
          const { added, changed, deleted, baseline } = await session.changes(since);
          return { baseline, ...since, added: [...added], changed: [...changed], deleted: [...deleted] };
        }
        const { patch } = await session.changes({ patch: true, ...since });
        await reply
          .code(200)
          .type('text/x-diff; charset=utf-8')
          .send(patch ?? '');
        // Answered above as text: the JSON schema describes only the default format.
        return undefined as unknown as z.input<typeof changesResult>;
      },
    }),
  ];
}
