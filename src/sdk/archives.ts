/**
 * Whole trees in and out of a session as tar archives (what `airlock cp` uses). The SDK depends on
 * fetch only, so it moves archive bytes; packing a local directory is the caller's (the CLI does it
 * with the `tar-stream` package, a browser with any tar library).
 */
import { bodyStream } from './body-stream.ts';
import type { ByteSource } from './body-stream.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';

export interface ArchiveUploadResult {
  readonly status: 'completed' | 'denied';
  readonly path: string;
  readonly files: number;
  readonly directories: number;
  readonly bytes: number;
  /** Files that look like secrets (.env, keys): copied, and their values redacted from every output. */
  readonly secretFiles: readonly string[];
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
}

/**
 * A tar archive (optionally gzip) to upload: bytes, or a stream sent as it is read (a directory of any
 * size packed on the fly; the server checks it as it arrives and never holds it whole).
 */
export type ArchiveSource = Uint8Array | ByteSource;

export interface LeftOutEntry {
  readonly path: string;
  readonly why: string;
}

export interface ArchiveDownload {
  /** An uncompressed tar archive of what passed the export checks. */
  readonly tar: Uint8Array;
  readonly files: number;
  readonly bytes: number;
  /** What the export checks left out, and why (a symlink out of the tree, a FIFO, a protected path…). */
  readonly leftOut: readonly LeftOutEntry[];
}

/** The same as `ArchiveDownload`, with the archive as a stream to read as it arrives. */
export interface ArchiveDownloadStream extends Omit<ArchiveDownload, 'tar'> {
  /** An uncompressed tar archive; read it to the end or cancel it to free the connection. */
  readonly tar: ReadableStream<Uint8Array>;
}

export interface WorkspaceChanges {
  /** Whether a tree was copied in (or a snapshot compared with); without one every file counts as added. */
  readonly baseline: boolean;
  /** The snapshot compared with, when `since` was given. */
  readonly since?: string;
  readonly added: readonly string[];
  readonly changed: readonly string[];
  readonly deleted: readonly string[];
}

const archivePath = (sessionId: string): string[] => ['v1', 'sessions', sessionId, 'archive'];

export async function uploadArchive(
  transport: Transport,
  sessionId: string,
  archive: ArchiveSource,
  remotePath: string,
  options?: CallOptions,
): Promise<ArchiveUploadResult> {
  let sourceError: unknown;
  const body =
    archive instanceof Uint8Array
      ? { bytes: archive }
      : { stream: bodyStream(archive, (error) => (sourceError ??= error)) };
  try {
    return await transport.json<ArchiveUploadResult>(
      { method: 'PUT', path: archivePath(sessionId), query: { path: remotePath }, ...body, long: true },
      options,
    );
  } catch (error) {
    // A stream that failed (a file that could not be read, a chunk that is not bytes) is the cause.
    throw sourceError ?? error;
  }
}

function leftOutOf(header: string | null): LeftOutEntry[] {
  if (header === null || header === '') return [];
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(header));
    return Array.isArray(parsed) ? (parsed as LeftOutEntry[]) : [];
  } catch {
    return [];
  }
}

export interface DownloadOptions extends CallOptions {
  /**
   * Changed protected paths (agent and editor configuration, CI workflows, build scripts): left out
   * with a note (`leave-out`, the default), or `ask`: one approval for all of them in the approval
   * queue, and they are in the archive when a person approves (the call waits for the answer).
   */
  readonly protectedPaths?: 'leave-out' | 'ask';
  /**
   * Where the export's summary comes: `headers` (the default: the server checks the whole tree before
   * it sends any of it, and `files`, `bytes` and `leftOut` are set) or `end` (the archive is sent as it
   * is checked, which is faster; the summary is a pax global header `AIRLOCK.summary` just before the
   * end marker, `files`, `bytes` and `leftOut` here are 0 and empty, and an export stopped part way
   * breaks the body off with no end marker: use the archive only once it ended whole).
   */
  readonly summary?: 'headers' | 'end';
}

export async function downloadArchive(
  transport: Transport,
  sessionId: string,
  remotePath: string,
  options?: DownloadOptions,
): Promise<ArchiveDownload> {
  const { response, ...rest } = await openDownload(transport, sessionId, remotePath, options);
  return { ...rest, tar: new Uint8Array(await response.arrayBuffer()) };
}

export async function downloadArchiveStream(
  transport: Transport,
  sessionId: string,
  remotePath: string,
  options?: DownloadOptions,
): Promise<ArchiveDownloadStream> {
  const { response, ...rest } = await openDownload(transport, sessionId, remotePath, options);
  // An empty body is still a body: a 200 without one would be a broken server, not an empty tree.
  return { ...rest, tar: response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() }) };
}

async function openDownload(
  transport: Transport,
  sessionId: string,
  remotePath: string,
  options?: DownloadOptions,
): Promise<Omit<ArchiveDownload, 'tar'> & { response: Response }> {
  const { response } = await transport.open(
    {
      method: 'GET',
      path: archivePath(sessionId),
      query: {
        path: remotePath,
        ...(options?.protectedPaths === undefined ? {} : { protected: options.protectedPaths }),
        ...(options?.summary === undefined ? {} : { summary: options.summary }),
      },
      accept: 'application/x-tar',
      long: true,
    },
    options,
  );
  return {
    response,
    files: Number(response.headers.get('airlock-files') ?? 0),
    bytes: Number(response.headers.get('airlock-bytes') ?? 0),
    leftOut: leftOutOf(response.headers.get('airlock-left-out')),
  };
}

export interface ChangesOptions extends CallOptions {
  /** Compare with this snapshot (`snap_…`) of the session, or the one it was made from, instead of the last upload. */
  readonly since?: string;
}

export function workspaceChanges(
  transport: Transport,
  sessionId: string,
  options?: ChangesOptions,
): Promise<WorkspaceChanges> {
  return transport.json<WorkspaceChanges>(
    {
      method: 'GET',
      path: ['v1', 'sessions', sessionId, 'changes'],
      ...(options?.since === undefined ? {} : { query: { since: options.since } }),
    },
    options,
  );
}

export function workspacePatch(
  transport: Transport,
  sessionId: string,
  options?: ChangesOptions,
): Promise<string> {
  return transport.text(
    {
      method: 'GET',
      path: ['v1', 'sessions', sessionId, 'changes'],
      query: { format: 'patch', ...(options?.since === undefined ? {} : { since: options.since }) },
      accept: 'text/x-diff',
    },
    options,
  );
}
