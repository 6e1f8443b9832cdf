/**
 * A local directory as a tar archive and back, for `airlock cp`. Packing takes regular files and
 * directories only (a symlink could point anywhere on this machine; special files are not a
 * project's), leaving the rest out with a note. Unpacking never follows a symlink on this machine: each
 * directory on the way is checked with lstat and each file opened with O_NOFOLLOW, so a link planted
 * in the destination cannot send a file elsewhere.
 */
import { closeSync, lstatSync, mkdirSync } from 'node:fs';
import { link, mkdir, opendir, symlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import {
  SYNC_IO_MAX_BYTES,
  openRegularFile,
  readIntoSync,
  readOpenedFile,
  writeLocalFile,
} from './file-io.ts';
import { TarPacker } from './tar-packer.ts';
import { TarReader } from './tar-reader.ts';
import { TAR_END } from './tar-writer.ts';
import type { TarEntry } from './tar-reader.ts';

export interface LeftOutLocal {
  readonly path: string;
  readonly why: string;
}

/** An archive already in memory is read in pieces of this size. */
const IN_MEMORY_PIECE_BYTES = 1024 * 1024;

/** The pack summary's answer when its reader stopped before the end. */
const closedEarly = (): Error => new Error('the archive was closed before the directory was packed');

/** Deepest directory walked: deeper is a loop or a bomb, not a project. */
const MAX_DEPTH = 64;

/** Whether a path (relative, `/`-separated; a directory's ends in `/`) stays out of the copy. */
export type SkipPath = (rel: string) => boolean;

export interface PackFilter {
  readonly skip: SkipPath;
  /** Called before a directory's entries are read (`''` for the root), e.g. to load its .gitignore. */
  readonly enter?: (rel: string) => Promise<void>;
}

export interface PackedDirectory {
  readonly files: number;
  readonly leftOut: LeftOutLocal[];
}

/**
 * `root` as a tar stream, read from disk as the stream is consumed (a file at a time, the walk held
 * back while the reader is behind); `summary` settles once the walk is done.
 */
export function packDirectoryStream(
  root: string,
  filter: PackFilter = { skip: () => false },
): { tar: AsyncIterable<Buffer>; summary: Promise<PackedDirectory>; cancel: () => void } {
  const { skip } = filter;
  const leftOut: LeftOutLocal[] = [];
  let files = 0;
  const packer = new TarPacker();
  let settle: { resolve: (packed: PackedDirectory) => void; reject: (error: unknown) => void } | null = null;
  const summary = new Promise<PackedDirectory>((resolve, reject) => {
    settle = { resolve, reject };
  });
  summary.catch(() => undefined);
  /** A file's entry, its content read straight into the archive when it is small. */
  async function packFile(full: string, rel: string): Promise<Buffer[] | null> {
    const file = openRegularFile(full);
    if (file === null) return null;
    try {
      const header = { name: rel, type: 'file', mode: file.mode, mtime: file.mtime } as const;
      return file.sizeBytes <= SYNC_IO_MAX_BYTES
        ? packer.addRead(header, file.sizeBytes, (into) => readIntoSync(file.fd, into))
        : packer.add(header, await readOpenedFile(file));
    } finally {
      closeSync(file.fd);
    }
  }
  // Pieces are made as the reader asks for them: the walk waits while the reader is behind.
  async function* walk(dir: string, relDir: string, depth: number): AsyncGenerator<Buffer> {
    await filter.enter?.(relDir);
    // A large buffer: one system call lists a whole directory of a project, not 32 entries of it.
    for await (const entry of await opendir(dir, { bufferSize: 1024 })) {
      const full = join(dir, entry.name);
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (skip(entry.isDirectory() ? `${rel}/` : rel)) continue;
      if (entry.isDirectory()) {
        if (depth >= MAX_DEPTH) {
          leftOut.push({ path: rel, why: `deeper than ${MAX_DEPTH} directories` });
          continue;
        }
        const info = lstatSync(full);
        yield* packer.add({ name: rel, type: 'directory', mode: info.mode & 0o777, mtime: info.mtime });
        yield* walk(full, rel, depth + 1);
      } else if (entry.isFile()) {
        const done = await packFile(full, rel);
        if (done === null) {
          leftOut.push({ path: rel, why: 'no longer a regular file when it was read' });
          continue;
        }
        files += 1;
        yield* done;
      } else {
        leftOut.push({
          path: rel,
          why: entry.isSymbolicLink()
            ? 'a symlink (it could point anywhere on this machine)'
            : 'not a regular file',
        });
      }
    }
  }
  async function* tar(): AsyncGenerator<Buffer> {
    try {
      yield* walk(root, '', 0);
      // The walk is done: what is left is bytes, so a reader that stops at the archive's end
      // (without asking past it) still finds the summary in.
      settle?.resolve({ files, leftOut });
      const last = packer.take();
      if (last.length > 0) yield last;
      yield TAR_END;
    } catch (error) {
      settle?.reject(error);
      throw error;
    } finally {
      // A reader that stopped early (a refused upload, a cancelled stream) ends the walk here, its
      // directories closed by the loops it left: the summary says so instead of never settling.
      settle?.reject(closedEarly());
    }
  }
  const stream = tar();
  const cancel = (): void => {
    settle?.reject(closedEarly());
    void stream.return(undefined).catch(() => undefined);
  };
  return { tar: stream, summary, cancel };
}

/**
 * Packs `root` as `send` reads it (an upload, a copy into a session), and returns what `send` answered
 * with what the walk left out. Whatever way `send` ends, the walk ends with it, so a refused upload
 * leaves no directory open; when the walk itself failed (a file this machine could not read), that
 * error is thrown, being the cause worth naming rather than the broken upload it led to.
 */
export async function sendDirectory<T>(
  root: string,
  filter: PackFilter,
  send: (tar: AsyncIterable<Buffer>) => Promise<T>,
): Promise<{ result: T; leftOut: LeftOutLocal[] }> {
  const packed = packDirectoryStream(root, filter);
  let result: T;
  try {
    result = await send(packed.tar);
  } catch (error) {
    packed.cancel();
    const walkError = await packed.summary.then(
      () => undefined,
      (cause: unknown) => cause,
    );
    if (walkError instanceof Error && typeof (walkError as { code?: unknown }).code === 'string')
      throw walkError;
    throw error;
  }
  // Read to its end by a successful send, so the summary is in; stopping is then a no-op.
  packed.cancel();
  return { result, leftOut: (await packed.summary).leftOut };
}

/**
 * Creates each directory of `parts` under `root`, refusing any that exists as something else. A
 * directory checked once is remembered for the rest of the unpack: the destination is trusted not to be
 * changed by another process meanwhile (each file is still opened with O_NOFOLLOW).
 */
function directoriesOf(root: string, parts: readonly string[], checked: Set<string>): string {
  // Most entries go into a directory an entry before them already went into: one look-up, not one a part.
  const whole = join(root, ...parts);
  if (checked.has(whole)) return whole;
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    if (checked.has(dir)) continue;
    const found = lstatSync(dir, { throwIfNoEntry: false });
    if (found === undefined) mkdirSync(dir, { mode: 0o755 });
    else if (!found.isDirectory()) throw new Error(`${relative(root, dir)} exists and is not a directory`);
    checked.add(dir);
  }
  return dir;
}

/**
 * Whether `target`, a symlink's target as written, stays inside the tree from the link's place. Both
 * sides of an archive judge links by it: the sandbox's export and this machine's unpacking.
 */
export function linkStaysInside(linkPath: string, target: string): boolean {
  if (target.startsWith('/') || target.includes('\0')) return false;
  const where = linkPath.split('/').slice(0, -1);
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') where.push(part);
    // Going above the tree's root would name something the tree does not hold.
    else if (where.pop() === undefined) return false;
  }
  return true;
}

/** Which entries to write: true, or why not ('' leaves an entry out without a note). */
export type UnpackFilter = (rel: string, content: Buffer) => string | true;

export interface UnpackResult {
  readonly files: number;
  readonly written: string[];
  readonly leftOut: LeftOutLocal[];
  /** The archive's pax global records (a streamed export's summary is one). */
  readonly globals: ReadonlyMap<string, string>;
}

export interface UnpackOptions {
  /** Fail unless the archive ends with its end marker: an archive cut short is not taken for whole. */
  readonly requireEnd?: boolean;
}

/** Writes a tar the server checked (clean names, links inside the tree) into `root`. */
export async function unpackInto(
  root: string,
  tar: Uint8Array | AsyncIterable<Uint8Array>,
  only: UnpackFilter = () => true,
  options: UnpackOptions = {},
): Promise<UnpackResult> {
  await mkdir(root, { recursive: true });
  const leftOut: LeftOutLocal[] = [];
  const written: string[] = [];
  const writtenHere = new Set<string>();
  const checked = new Set<string>();
  let files = 0;
  const handle = async ({ header, content }: TarEntry): Promise<void> => {
    // Checked again here: this side trusts no name it did not make.
    const parts = header.name.split('/').filter((part) => part !== '' && part !== '.');
    if (header.name.startsWith('/') || parts.includes('..') || parts.length === 0) {
      leftOut.push({ path: header.name, why: 'a name outside the destination' });
      return;
    }
    const rel = parts.join('/');
    // A directory is asked about with its name ending in `/`; '' skips without a note.
    const verdict = only(header.type === 'directory' ? `${rel}/` : rel, content);
    if (verdict !== true) {
      if (verdict !== '') leftOut.push({ path: rel, why: verdict });
      return;
    }
    try {
      const dir = directoriesOf(root, header.type === 'directory' ? parts : parts.slice(0, -1), checked);
      const target = join(dir, parts.at(-1) ?? '');
      if (header.type === 'file') {
        await writeLocalFile(target, content, (header.mode ?? 0o644) & 0o777);
        files += 1;
        written.push(rel);
        writtenHere.add(rel);
      } else if (header.type === 'symlink') {
        // The server checked this too; this side trusts no link it did not make.
        const linkname = header.linkname ?? '';
        if (!linkStaysInside(rel, linkname)) {
          leftOut.push({
            path: rel,
            why: `a symbolic link to ${JSON.stringify(linkname)}, outside the destination`,
          });
          return;
        }
        await symlink(linkname, target);
      } else if (header.type === 'link') {
        // Only to a file this unpack wrote: a hard link to a path of this machine's choosing
        // (`../../etc/passwd`) would make a later write land there.
        const linkname = (header.linkname ?? '')
          .split('/')
          .filter((part) => part !== '' && part !== '.')
          .join('/');
        if (!writtenHere.has(linkname)) {
          leftOut.push({
            path: rel,
            why: `a hard link to ${JSON.stringify(header.linkname)}, not a file written here`,
          });
          return;
        }
        await link(join(root, linkname), target);
      }
    } catch (error) {
      leftOut.push({ path: rel, why: `not written: ${(error as Error).message}` });
    }
  };
  // Each entry is written before the next chunk is read: a view of the chunk is enough, not a copy.
  const reader = new TarReader({ viewContent: true });
  /** The archive a piece at a time: an archive in memory is not copied whole a second time. */
  async function* pieces(): AsyncGenerator<Uint8Array> {
    if (!(tar instanceof Uint8Array)) {
      yield* tar;
      return;
    }
    for (let offset = 0; offset < tar.length; offset += IN_MEMORY_PIECE_BYTES)
      yield tar.subarray(offset, offset + IN_MEMORY_PIECE_BYTES);
  }
  try {
    // Read as it comes, one entry at a time: a download of any size is never held whole.
    for await (const chunk of pieces()) for (const entry of reader.push(chunk)) await handle(entry);
    reader.end();
    if (options.requireEnd === true && !reader.ended)
      throw new Error('it ended before its end marker (the export stopped part way)');
  } catch (error) {
    // The export's own refusal (a limit, in-process) as it is; anything else as an unreadable archive.
    if (error instanceof AirlockError) throw error;
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `the archive from the server is unreadable: ${(error as Error).message}`,
    );
  }
  return { files, written, leftOut, globals: reader.globals };
}
