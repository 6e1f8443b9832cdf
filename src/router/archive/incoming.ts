/**
 * An archive on its way into a sandbox, read as a stream and checked entry by entry: every entry a
 * regular file or a directory under a clean relative name, within the entry and byte limits. What
 * passes is packed again from the checked entries alone (clean names, no owners, no setuid or setgid
 * bits) and handed on as it is made, so the host holds one entry's worth of the archive at a time and
 * the tar inside the sandbox only ever unpacks what was checked. The caller stages what is handed on
 * and unpacks it only once the whole archive passed: a refused archive writes nothing.
 */
import { createHash, hash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AirlockError } from '../../errors/index.ts';
import { TAR_END, TarReader, tarEntryParts } from '../../local-tree/index.ts';
import type { TarEntry, TarHeader, TarWriteHeader } from '../../local-tree/index.ts';
import { entryPath } from './entry-path.ts';
import type { ArchiveLimits } from './limits.ts';
import { manifestLine } from './manifest.ts';

export interface IncomingFile {
  readonly path: string;
  readonly kind: 'file' | 'directory';
  readonly sizeBytes: number;
  /** sha256 of a file's content; '' for a directory. */
  readonly sha256: string;
}

export interface CheckedArchive {
  readonly entries: readonly IncomingFile[];
  readonly files: number;
  readonly bytes: number;
  /**
   * For the audit record: sha256 of the tree as checked and packed again, as its manifest (see
   * `manifestLine`): each entry in order with its kind, permission bits, mtime, size, content sha256
   * and name. It stands for the archive the sandbox unpacks (which holds nothing else), without
   * hashing its bytes a second time.
   */
  readonly sha256: string;
}

export interface IncomingHooks {
  /**
   * Called for each file before any of its content is handed on (the reader holds one entry, within
   * the byte limit): may refuse the archive (throw), and says whether the file's content is wanted
   * whole: `onFile` gets it then, before any of it is handed on.
   */
  readonly fileHeader?: (path: string, sizeBytes: number) => { readonly keep: boolean };
  /** Sees each file once it is checked: its hash, and its content when `fileHeader` asked to keep it. */
  readonly onFile?: (path: string, sha256: string, content: Buffer | null) => void;
}

/**
 * Where the archive packed again goes, as pieces to write in order (views of the body's bytes among
 * them: used before the next call or copied); the next pieces wait for the promise. Each call holds one
 * whole entry (a file or a directory), or the archive's end marker (`end`, the last call): the sink
 * may cut the archive between calls into archives of their own.
 */
export type PackedSink = (pieces: readonly Buffer[], kind: 'file' | 'directory' | 'end') => Promise<void>;

const PERMISSION_BITS = 0o777;

function refuse(why: string, details: Record<string, unknown> = {}): never {
  throw new AirlockError('UNSAFE_ARCHIVE', `archive refused: ${why}; nothing was written`, details);
}

/** Headers and padding take up to 1.5 KiB an entry besides the content itself. */
export function maxTarBytes(limits: ArchiveLimits): number {
  return limits.maxBytes + limits.maxEntries * 1536 + 1024 * 1024;
}

/**
 * The body as a plain tar: gzip is recognised by its magic bytes and inflated as it is read, stopping
 * at the limit (a gzip bomb never inflates whole). A body longer than any allowed tar is refused too.
 */
async function* plainTar(body: AsyncIterable<Uint8Array>, limits: ArchiveLimits): AsyncGenerator<Buffer> {
  const max = maxTarBytes(limits);
  const iterator = body[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2 && !ended) {
    const next = await iterator.next();
    if (next.done === true) ended = true;
    else head = Buffer.concat([head, next.value]);
  }
  async function* raw(): AsyncGenerator<Buffer> {
    let total = head.length;
    if (head.length > 0) yield head;
    while (!ended) {
      const next = await iterator.next();
      if (next.done === true) return;
      total += next.value.length;
      if (total > max) refuse(`it is longer than ${max} bytes`, { reason: 'too_large' });
      // A view, not a copy: the body's chunks are not written to again once read.
      yield Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    }
  }
  if (head.length < 2 || head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* raw();
    return;
  }
  const inflating = Readable.from(raw()).pipe(createGunzip());
  let inflated = 0;
  try {
    for await (const chunk of inflating as AsyncIterable<Buffer>) {
      inflated += chunk.length;
      if (inflated > max) refuse(`it inflates to more than ${max} bytes`, { reason: 'too_large' });
      yield chunk;
    }
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    refuse(`it is not valid gzip (${(error as Error).message})`, { reason: 'malformed' });
  } finally {
    inflating.destroy();
  }
}

/** Refuses what a tar may hold but a project copied in never needs, naming the entry. */
function checkHeader(header: TarHeader, path: string): 'file' | 'directory' {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
    case 'link':
      // A link followed by a file written "through" it is the classic way out of an unpacked tree.
      return refuse(
        `${path} is a ${header.type === 'link' ? 'hard link' : 'symbolic link'}; archives copied in may hold only files and directories`,
        { reason: 'link', path },
      );
    default:
      return refuse(
        `${path} is a ${header.type ?? 'special'} entry; archives copied in may hold only files and directories`,
        { reason: 'special_file', path },
      );
  }
}

/** Reads `body` through the checks, handing the archive packed again to `sink` as it is made. */
export async function checkIncomingArchive(
  body: AsyncIterable<Uint8Array>,
  limits: ArchiveLimits,
  sink: PackedSink,
  hooks: IncomingHooks = {},
): Promise<CheckedArchive> {
  const entries: IncomingFile[] = [];
  const kinds = new Map<string, 'file' | 'directory'>();
  let bytes = 0;
  const tooLarge = (): never =>
    refuse(`its files hold more than ${limits.maxBytes} bytes`, {
      reason: 'too_large',
      maxBytes: limits.maxBytes,
    });
  // A file over the byte limit is refused at its header, before its content is held: the size is the
  // tar's own promise. Contents are views of the body's chunks (handed on at once; copied if kept).
  const reader = new TarReader({
    maxContentBytes: () => limits.maxBytes - bytes,
    tooLarge,
    viewContent: true,
  });
  const manifest = createHash('sha256');
  // Each entry's parts go to the sink as they are (the staging gathers them into parts); a slow sink
  // holds the reading back.
  const pack = (header: TarWriteHeader, content?: Buffer): Promise<void> =>
    sink(tarEntryParts(header, content), header.type === 'directory' ? 'directory' : 'file');

  async function handle({ header, content }: TarEntry): Promise<void> {
    const named = entryPath(header.name);
    if (!named.ok)
      refuse(`${JSON.stringify(header.name)}: ${named.why}`, { reason: 'path', path: header.name });
    const path = named.path;
    const kind = checkHeader(header, path);
    // The archive's own root (`./`): nothing to create.
    if (path === '') return;
    if (entries.length >= limits.maxEntries)
      refuse(`it has more than ${limits.maxEntries} entries`, {
        reason: 'too_many_entries',
        maxEntries: limits.maxEntries,
      });
    if (kinds.has(path)) refuse(`${path} appears twice`, { reason: 'duplicate', path });
    const parts = path.split('/');
    for (let depth = 1; depth < parts.length; depth += 1) {
      const parent = parts.slice(0, depth).join('/');
      if (kinds.get(parent) === 'file')
        refuse(`${path} is inside ${parent}, which is a file`, { reason: 'conflict', path });
    }
    kinds.set(path, kind);
    // Packed again: no owner names or ids, no setuid/setgid/sticky bits, the checked name only.
    const mode = header.mode & PERMISSION_BITS;
    if (kind === 'directory') {
      const packed: TarWriteHeader = {
        name: path,
        type: 'directory',
        mode: mode | 0o700,
        mtime: header.mtime,
      };
      entries.push({ path, kind, sizeBytes: 0, sha256: '' });
      manifest.update(manifestLine(packed, 0, ''));
      await pack(packed);
      return;
    }
    const size = content.length;
    if (bytes + size > limits.maxBytes) tooLarge();
    bytes += size;
    const { keep } = hooks.fileHeader?.(path, size) ?? { keep: false };
    // One call, no Hash object: ten thousand files are ten thousand of them.
    const sha256 = hash('sha256', content);
    // A kept file is seen whole before any of it is handed on: a secret file's values are known (and
    // redacted) before its bytes reach the sandbox. A copy: a view would keep the body's chunk alive.
    hooks.onFile?.(path, sha256, keep ? Buffer.copyBytesFrom(content) : null);
    const packed: TarWriteHeader = { name: path, type: 'file', mode: mode | 0o600, mtime: header.mtime };
    manifest.update(manifestLine(packed, size, sha256));
    await pack(packed, content);
    entries.push({ path, kind, sizeBytes: size, sha256 });
  }

  try {
    for await (const chunk of plainTar(body, limits))
      for (const entry of reader.push(chunk)) await handle(entry);
    reader.end();
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    refuse(`it is not a readable tar archive (${(error as Error).message})`, { reason: 'malformed' });
  }
  await sink([TAR_END], 'end');
  const files = entries.filter((entry) => entry.kind === 'file').length;
  return { entries, files, bytes, sha256: manifest.digest('hex') };
}
