/** The files API beside write/read/list: stat and exists, mkdir, remove, rename, many writes at once. */
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type { FileEntry } from './wire-types.ts';

export interface FileStat extends FileEntry {
  readonly path: string;
}

/** A change done, or refused by a person (`reasons` says why). */
export interface FileChangeResult {
  readonly status: 'completed' | 'denied';
  readonly paths: readonly string[];
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
}

export interface WriteManyEntry {
  readonly path: string;
  /** A string is written as UTF-8. */
  readonly data: string | Uint8Array;
}

const filesPath = (sessionId: string, ...rest: string[]): string[] => [
  'v1',
  'sessions',
  sessionId,
  'files',
  ...rest,
];

function base64Of(bytes: Uint8Array): string {
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

export async function statFile(
  transport: Transport,
  sessionId: string,
  path: string,
  options?: CallOptions,
): Promise<FileStat | null> {
  const answer = await transport.json<{ entry: FileStat | null }>(
    { method: 'GET', path: filesPath(sessionId, 'stat'), query: { path } },
    options,
  );
  return answer.entry;
}

export function removeFile(
  transport: Transport,
  sessionId: string,
  path: string,
  options?: CallOptions,
): Promise<FileChangeResult> {
  return transport.json<FileChangeResult>(
    { method: 'DELETE', path: filesPath(sessionId), query: { path }, long: true },
    options,
  );
}

export function makeDirectory(
  transport: Transport,
  sessionId: string,
  path: string,
  options?: CallOptions,
): Promise<FileChangeResult> {
  return transport.json<FileChangeResult>(
    { method: 'POST', path: filesPath(sessionId, 'mkdir'), json: { path }, long: true },
    options,
  );
}

export function renameFile(
  transport: Transport,
  sessionId: string,
  from: string,
  to: string,
  options?: CallOptions,
): Promise<FileChangeResult> {
  return transport.json<FileChangeResult>(
    { method: 'POST', path: filesPath(sessionId, 'rename'), json: { from, to }, long: true },
    options,
  );
}

export function writeManyFiles(
  transport: Transport,
  sessionId: string,
  files: readonly WriteManyEntry[],
  options?: CallOptions,
): Promise<FileChangeResult> {
  const body = {
    files: files.map((file) =>
      typeof file.data === 'string'
        ? { path: file.path, content: file.data }
        : { path: file.path, content: base64Of(file.data), encoding: 'base64' },
    ),
  };
  return transport.json<FileChangeResult>(
    { method: 'POST', path: filesPath(sessionId, 'batch'), json: body, long: true },
    options,
  );
}
