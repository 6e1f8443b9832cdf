/**
 * An archive on its way into a sandbox, read whole and checked before anything is written: every
 * entry a regular file or a directory under a clean relative name, within the entry and byte limits.
 * What passes is packed again from the checked entries alone (clean names, no owners, no setuid or
 * setgid bits), so the tar inside the sandbox only ever unpacks what was checked. A refused archive
 * writes nothing.
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Headers } from 'tar-stream';
import { AirlockError } from '../../errors/index.ts';
import { entryPath } from './entry-path.ts';
import type { ArchiveLimits } from './limits.ts';

const inflate = promisify(gunzip);

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
  /** The archive packed again from the checked entries (uncompressed tar). */
  readonly tar: Buffer;
}

/** Sees each file's content once, as it is checked (a baseline for changes, secrets to redact). */
export type OnIncomingFile = (path: string, content: Buffer, sha256: string) => void;

const PERMISSION_BITS = 0o777;

function refuse(why: string, details: Record<string, unknown> = {}): never {
  throw new AirlockError('UNSAFE_ARCHIVE', `archive refused: ${why}; nothing was written`, details);
}

/** Gzip is recognised by its magic bytes; inflating stops at the limit (a gzip bomb never inflates whole). */
async function plainTar(body: Buffer, limits: ArchiveLimits): Promise<Buffer> {
  if (body.length < 2 || body[0] !== 0x1f || body[1] !== 0x8b) return body;
  // Headers and padding take up to 1.5 KiB an entry besides the content itself.
  const maxOutputLength = limits.maxBytes + limits.maxEntries * 1536 + 1024 * 1024;
  try {
    return await inflate(body, { maxOutputLength });
  } catch (error) {
    if (error instanceof RangeError || (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
      refuse(`it inflates to more than ${maxOutputLength} bytes`, { reason: 'too_large' });
    }
    refuse(`it is not valid gzip (${(error as Error).message})`, { reason: 'malformed' });
  }
}

function readEntry(stream: NodeJS.ReadableStream, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) chunks.push(chunk);
    });
    stream.once('error', reject);
    stream.once('end', () => resolve(total > limit ? null : Buffer.concat(chunks, total)));
  });
}

/** Refuses what a tar may hold but a project copied in never needs, naming the entry. */
function checkHeader(header: Headers, path: string): 'file' | 'directory' {
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
        {
          reason: 'link',
          path,
        },
      );
    default:
      return refuse(
        `${path} is a ${header.type ?? 'special'} entry; archives copied in may hold only files and directories`,
        {
          reason: 'special_file',
          path,
        },
      );
  }
}

export async function checkIncomingArchive(
  body: Buffer,
  limits: ArchiveLimits,
  onFile: OnIncomingFile = () => undefined,
): Promise<CheckedArchive> {
  const tar = await plainTar(body, limits);
  const entries: IncomingFile[] = [];
  const kinds = new Map<string, 'file' | 'directory'>();
  const out = pack();
  let bytes = 0;
  const packed: Buffer[] = [];
  out.on('data', (chunk: Buffer) => packed.push(chunk));
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.once('finish', resolve);
    reader.on('error', reject);
  });
  reader.on('entry', (header, stream, next) => {
    void (async () => {
      const named = entryPath(header.name);
      if (!named.ok)
        refuse(`${JSON.stringify(header.name)}: ${named.why}`, { reason: 'path', path: header.name });
      const path = named.path;
      const kind = checkHeader(header, path);
      if (path === '') {
        // The archive's own root (`./`): nothing to create.
        stream.resume();
        next();
        return;
      }
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
      const data = kind === 'file' ? await readEntry(stream, limits.maxBytes - bytes) : null;
      if (kind === 'file' && data === null)
        refuse(`its files hold more than ${limits.maxBytes} bytes`, {
          reason: 'too_large',
          maxBytes: limits.maxBytes,
        });
      if (kind === 'directory') stream.resume();
      kinds.set(path, kind);
      const content = data ?? Buffer.alloc(0);
      bytes += content.length;
      const sha256 = kind === 'file' ? createHash('sha256').update(content).digest('hex') : '';
      if (kind === 'file') onFile(path, content, sha256);
      entries.push({ path, kind, sizeBytes: content.length, sha256 });
      // Packed again: no owner names or ids, no setuid/setgid/sticky bits, the checked name only.
      const mode = (header.mode ?? (kind === 'file' ? 0o644 : 0o755)) & PERMISSION_BITS;
      out.entry(
        {
          name: path,
          type: kind,
          mode: kind === 'directory' ? mode | 0o700 : mode | 0o600,
          mtime: header.mtime ?? new Date(0),
          uid: 0,
          gid: 0,
        },
        kind === 'file' ? content : undefined,
      );
      next();
    })().catch((error: unknown) => reader.destroy(error as Error));
  });
  reader.end(tar);
  try {
    await done;
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    refuse(`it is not a readable tar archive (${(error as Error).message})`, { reason: 'malformed' });
  }
  out.finalize();
  await new Promise<void>((resolve) => out.once('end', resolve));
  const files = entries.filter((entry) => entry.kind === 'file').length;
  return { entries, files, bytes, tar: Buffer.concat(packed) };
}
