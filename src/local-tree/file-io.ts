/**
 * One local file read whole or written whole, in as few system calls as the job takes. A project is
 * thousands of small files: going through the thread pool for each open, stat, read and close costs
 * more than the I/O itself (a 10,000-file tree took seconds to pack that way, against a fraction of a
 * second done here). So a small file is read or written synchronously — a few microseconds of the
 * event loop each — and only a large one goes through the thread pool, so that a big file never holds
 * the event loop up for long.
 */
import { closeSync, constants, fstatSync, openSync, read, readSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** Largest file read or written on the event loop's own thread; larger ones go to the thread pool. */
export const SYNC_IO_MAX_BYTES = 1024 * 1024;

export interface LocalFile {
  readonly content: Buffer;
  /** Permission bits only. */
  readonly mode: number;
  readonly mtime: Date;
}

/** Up to `size` bytes from `fd` (fewer if the file shrank meanwhile). */
async function readWhole(fd: number, size: number): Promise<Buffer> {
  const content = Buffer.allocUnsafe(size);
  let filled = 0;
  while (filled < size) {
    const got =
      size <= SYNC_IO_MAX_BYTES
        ? readSync(fd, content, filled, size - filled, null)
        : (await readAsync(fd, content, filled, Math.min(size - filled, SYNC_IO_MAX_BYTES), null)).bytesRead;
    if (got === 0) break;
    filled += got;
  }
  return filled === size ? content : content.subarray(0, filled);
}

export interface OpenedFile {
  readonly fd: number;
  readonly sizeBytes: number;
  /** Permission bits only. */
  readonly mode: number;
  readonly mtime: Date;
}

/**
 * The regular file at `path` opened for reading (the caller closes `fd`), or null when it is anything
 * else by the time it is opened: opened with O_NOFOLLOW and checked with fstat on the open descriptor,
 * so a file swapped for a symlink (or a FIFO, which would block the read) after the directory was
 * listed is left out, never followed.
 */
export function openRegularFile(path: string): OpenedFile | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') return null;
    throw error;
  }
  try {
    const info = fstatSync(fd);
    if (info.isFile()) return { fd, sizeBytes: info.size, mode: info.mode & 0o777, mtime: info.mtime };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  closeSync(fd);
  return null;
}

/**
 * Fills `into` from `fd`'s current position, synchronously (for a small file, see SYNC_IO_MAX_BYTES);
 * fewer bytes when the file ends first.
 */
export function readIntoSync(fd: number, into: Buffer): number {
  let filled = 0;
  while (filled < into.length) {
    const got = readSync(fd, into, filled, into.length - filled, null);
    if (got === 0) break;
    filled += got;
  }
  return filled;
}

/** An opened file's content, read whole (through the thread pool when it is large). */
export function readOpenedFile(file: OpenedFile): Promise<Buffer> {
  return readWhole(file.fd, file.sizeBytes);
}

/** The regular file at `path` read whole, or null when it is anything else (see openRegularFile). */
export async function readRegularFile(path: string): Promise<LocalFile | null> {
  const file = openRegularFile(path);
  if (file === null) return null;
  try {
    return { content: await readOpenedFile(file), mode: file.mode, mtime: file.mtime };
  } finally {
    closeSync(file.fd);
  }
}

/**
 * Writes `content` to `path`, creating it with `mode` or truncating the file there. O_NOFOLLOW: a
 * symlink at `path` (planted in the destination) is refused, never written through.
 */
export async function writeLocalFile(path: string, content: Buffer, mode: number): Promise<void> {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW;
  if (content.length > SYNC_IO_MAX_BYTES) {
    const handle = await open(path, flags, mode);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    return;
  }
  const fd = openSync(path, flags, mode);
  try {
    for (let written = 0; written < content.length; )
      written += writeSync(fd, content, written, content.length - written);
  } finally {
    closeSync(fd);
  }
}
