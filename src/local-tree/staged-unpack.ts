/**
 * A streamed export unpacked whole or not at all: written into a fresh staging directory beside the
 * destination as it arrives, and moved into place only once the archive ended with its summary and end
 * marker. An export stopped part way (a limit reached, a broken connection) leaves the destination as
 * it was, never half a tree.
 */
import { chmodSync, lstatSync, renameSync } from 'node:fs';
import { mkdir, mkdtemp, opendir, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { readExportSummary } from './export-summary.ts';
import type { ExportSummary } from './export-summary.ts';
import { unpackInto } from './local-tree.ts';
import type { LeftOutLocal, UnpackFilter } from './local-tree.ts';

export interface StagedUnpackResult {
  readonly files: number;
  /** Files written into the destination, relative to it. */
  readonly written: string[];
  /** What this machine did not write (a name outside the destination, a directory in the way…). */
  readonly leftOut: LeftOutLocal[];
  /** The server's summary: what the export copied and left out. */
  readonly summary: ExportSummary;
}

/**
 * Moves what `from` holds into `to`, an existing directory: a directory missing there is moved whole,
 * one there is merged into; a file (or link) replaces what is there by rename, which never follows a
 * symlink at the destination. A directory of the destination is never replaced by a file or the
 * reverse: that entry is left out, with a note.
 */
async function moveInto(
  from: string,
  to: string,
  rel: string,
  blocked: string[],
  leftOut: LeftOutLocal[],
  staging: string,
): Promise<void> {
  for await (const entry of await opendir(from)) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    // Staged inside the destination (see stagingFor): nothing is moved into the staging directory.
    if (target === staging) {
      leftOut.push({ path, why: 'not written: the staging directory has that name' });
      blocked.push(path);
      continue;
    }
    const there = lstatSync(target, { throwIfNoEntry: false });
    if (entry.isDirectory() && there?.isDirectory() === true) {
      await moveInto(source, target, path, blocked, leftOut, staging);
      continue;
    }
    if (there !== undefined && (entry.isDirectory() || there.isDirectory())) {
      leftOut.push({
        path,
        why: `not written: ${there.isDirectory() ? 'a directory' : 'something other than a directory'} is in the way`,
      });
      blocked.push(path);
      continue;
    }
    renameSync(source, target);
  }
}

/**
 * A fresh, private (0700) directory to unpack into: beside the destination, so that moving it into
 * place is a rename on the same file system; inside it when the parent cannot be written (a
 * destination such as /tmp) and the destination is a directory already.
 */
async function stagingFor(destination: string, parent: string): Promise<string> {
  try {
    return await mkdtemp(join(parent, `.${basename(destination)}.airlock-`));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
    if (!denied || lstatSync(destination, { throwIfNoEntry: false })?.isDirectory() !== true) throw error;
    return mkdtemp(join(destination, '.airlock-'));
  }
}

/** Unpacks a streamed export into `root` (created if missing) once all of it arrived whole. */
export async function unpackWhole(
  root: string,
  tar: Uint8Array | AsyncIterable<Uint8Array>,
  only?: UnpackFilter,
): Promise<StagedUnpackResult> {
  const destination = resolve(root);
  const parent = dirname(destination);
  await mkdir(parent, { recursive: true });
  const staging = await stagingFor(destination, parent);
  try {
    const unpacked = await unpackInto(staging, tar, only, { requireEnd: true });
    const summary = readExportSummary(unpacked.globals);
    if (summary === null)
      throw new AirlockError('INVALID_ARGUMENT', 'the archive from the server ended without its summary');
    const leftOut = [...unpacked.leftOut];
    const found = lstatSync(destination, { throwIfNoEntry: false });
    if (found === undefined) {
      chmodSync(staging, 0o755);
      renameSync(staging, destination);
      return { files: unpacked.files, written: unpacked.written, leftOut, summary };
    }
    if (!found.isDirectory())
      throw new AirlockError('INVALID_ARGUMENT', `${destination} exists and is not a directory`, {
        path: destination,
      });
    const blocked: string[] = [];
    await moveInto(staging, destination, '', blocked, leftOut, staging);
    const written = unpacked.written.filter(
      (path) => !blocked.some((block) => path === block || path.startsWith(`${block}/`)),
    );
    return { files: written.length, written, leftOut, summary };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

// Security limitations:
// - The staging directory sits beside the destination until the archive ended (mode 0700); a process
//   killed meanwhile leaves it behind there (named `.<destination>.airlock-…`).
// - Moving into an existing destination is a rename per entry: another process changing the
//   destination meanwhile could see some of the tree before the rest (never a half-written file).
