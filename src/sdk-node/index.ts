/**
 * The SDK's local-directory forms, for Node: a directory on this machine uploaded into a session, and
 * a session's directory downloaded into one. The SDK itself depends on `fetch` only and moves tar
 * bytes; this entry (`@airlock-sh/airlock/sdk/node`) adds the file system. Packing takes regular files
 * and directories only (a symlink could point anywhere on this machine) and can honour a skip rule;
 * unpacking never writes outside the target: names are checked again here, each directory on the way
 * is checked with lstat and each file opened with O_NOFOLLOW, so a symlink planted in the target (or
 * one the archive names) cannot send a file elsewhere, and links from the archive are never followed.
 */
import { resolve } from 'node:path';
import { sendDirectory, unpackWhole } from '../local-tree/index.ts';
import type { LeftOutLocal } from '../local-tree/index.ts';
import type {
  ArchiveUploadResult,
  CallOptions,
  DownloadOptions,
  LeftOutEntry,
  SessionFiles,
} from '../sdk/index.ts';

export interface UploadDirectoryOptions extends CallOptions {
  /** Paths (relative, `/`-separated; a directory's ends in `/`) to leave out, e.g. build output. */
  readonly skip?: (rel: string) => boolean;
}

export interface UploadDirectoryResult extends ArchiveUploadResult {
  /** What stayed on this machine, and why (symlinks, special files, skipped paths are not noted). */
  readonly leftOutLocally: readonly LeftOutLocal[];
}

export interface DownloadDirectoryResult {
  /** Files written into the local directory (relative paths). */
  readonly written: readonly string[];
  /** What the server's export checks held back, and why. */
  readonly leftOut: readonly LeftOutEntry[];
  /** What was not written here, and why (a name outside the target, a path that is not a directory). */
  readonly notWritten: readonly LeftOutLocal[];
}

/** Uploads local directory `localDir` into `remotePath` in the session, as one checked archive. */
export async function uploadDirectory(
  files: SessionFiles,
  localDir: string,
  remotePath: string,
  options: UploadDirectoryOptions = {},
): Promise<UploadDirectoryResult> {
  const { skip, ...call } = options;
  // Packed as it is sent: a project of any size costs one file's bytes here, never the whole archive.
  const { result, leftOut } = await sendDirectory(resolve(localDir), { skip: skip ?? (() => false) }, (tar) =>
    files.upload(tar, remotePath, call),
  );
  return { ...result, leftOutLocally: leftOut };
}

/**
 * Downloads `remotePath` from the session into local directory `localDir` (created if missing): all of
 * it, or nothing when the export stopped part way.
 */
export async function downloadDirectory(
  files: SessionFiles,
  remotePath: string,
  localDir: string,
  options: DownloadOptions = {},
): Promise<DownloadDirectoryResult> {
  // Sent as it is checked, its summary last: unpacked beside `localDir` as it arrives, and moved into
  // place only once it ended whole, so an export stopped part way leaves `localDir` as it was.
  const download = await files.downloadStream(remotePath, { ...options, summary: 'end' });
  const unpacked = await unpackWhole(localDir, download.tar);
  return { written: unpacked.written, leftOut: unpacked.summary.leftOut, notWritten: unpacked.leftOut };
}
