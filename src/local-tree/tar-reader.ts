/**
 * A tar stream read entry by entry, each entry's content whole (a file must be whole to be hashed,
 * redacted or written, and every reader here holds one entry at a time anyway). It reads what GNU tar,
 * bsdtar and tar-stream write: ustar (with its name prefix), GNU long names and link names, pax
 * headers (path, linkpath, size; global ones too). Written for speed on trees of many small files: the
 * per-entry streams of a general tar library cost more than the whole of this parse.
 *
 * Every byte may come from whoever made the archive (a caller, or the sandbox): a header whose
 * checksum does not add up, an unknown format, a number that is not one, a stream cut short inside an
 * entry, or a name or pax record longer than MAX_META_BYTES is an error; nothing here trusts a name
 * (callers check them), and sizes are checked against `maxContentBytes` before any content is held.
 */

export type TarEntryType =
  | 'file'
  | 'link'
  | 'symlink'
  | 'character-device'
  | 'block-device'
  | 'directory'
  | 'fifo'
  | 'contiguous-file';

export interface TarHeader {
  readonly name: string;
  /** null: a type flag this reader does not know (callers treat it as a special entry). */
  readonly type: TarEntryType | null;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly mtime: Date;
  readonly linkname: string | null;
}

export interface TarEntry {
  readonly header: TarHeader;
  /**
   * Bytes of the stream this entry took, from the end of the one before (its headers, a pax header or
   * long name before it, its content and padding): what a view of the stream may keep alive for it.
   */
  readonly streamBytes: number;
  /** The entry's content; empty for anything but a file. */
  readonly content: Buffer;
}

/** Longest GNU long name or pax header accepted: a real one is a path (at most a few KiB). */
export const MAX_META_BYTES = 1024 * 1024;

const BLOCK = 512;

const TYPES: Readonly<Record<number, TarEntryType>> = {
  0: 'file',
  1: 'link',
  2: 'symlink',
  3: 'character-device',
  4: 'block-device',
  5: 'directory',
  6: 'fifo',
  7: 'contiguous-file',
};
const PAX = 72; // 'x'
const PAX_GLOBAL = 55; // 'g'
const GNU_LONG_LINK = 27; // 'K'
const GNU_LONG_NAMES = new Set([28, 30]); // 'L', 'N'

export class TarFormatError extends Error {}

function text(block: Buffer, offset: number, length: number): string {
  let end = offset;
  while (end < offset + length && block[end] !== 0) end += 1;
  return block.toString('utf8', offset, end);
}

/** A numeric field: octal (after optional spaces and NULs), or base-256 when the high bit is set. */
function number(block: Buffer, offset: number, length: number, what: string): number {
  const first = block[offset] ?? 0;
  if (first & 0x80) {
    if (first !== 0x80) throw new TarFormatError(`the ${what} field is negative`);
    let value = 0;
    for (let index = offset + 1; index < offset + length; index += 1)
      value = value * 256 + (block[index] ?? 0);
    if (!Number.isSafeInteger(value)) throw new TarFormatError(`the ${what} field is too large`);
    return value;
  }
  let index = offset;
  const end = offset + length;
  while (index < end && (block[index] === 32 || block[index] === 0)) index += 1;
  let value = 0;
  let digits = 0;
  for (; index < end; index += 1) {
    const byte = block[index] ?? 0;
    if (byte === 32 || byte === 0) break;
    if (byte < 48 || byte > 55) throw new TarFormatError(`the ${what} field is not an octal number`);
    value = value * 8 + (byte - 48);
    digits += 1;
  }
  return digits === 0 ? 0 : value;
}

function checksumOf(block: Buffer): number {
  let sum = 8 * 32;
  for (let index = 0; index < 148; index += 1) sum += block[index] ?? 0;
  for (let index = 156; index < BLOCK; index += 1) sum += block[index] ?? 0;
  return sum;
}

function isUstar(block: Buffer): boolean {
  // "ustar\0" then "00"
  return block.toString('latin1', 257, 263) === 'ustar\0';
}

function isGnu(block: Buffer): boolean {
  return block.toString('latin1', 257, 265) === 'ustar  \0';
}

/** pax records: `<length> <key>=<value>\n`, each length counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < data.length) {
    const space = data.indexOf(32, offset);
    if (space === -1) break;
    const length = Number.parseInt(data.toString('latin1', offset, space), 10);
    if (!Number.isSafeInteger(length) || length <= space - offset || offset + length > data.length)
      throw new TarFormatError('a pax record has a bad length');
    const record = data.toString('utf8', space + 1, offset + length - 1);
    const equals = record.indexOf('=');
    if (equals === -1) throw new TarFormatError('a pax record has no =');
    records.set(record.slice(0, equals), record.slice(equals + 1));
    offset += length;
  }
  return records;
}

interface Pending {
  readonly header: TarHeader;
  /** What the content is for: kept for an entry, read as a long name or pax header, or skipped. */
  readonly role: 'entry' | 'skip' | 'long-name' | 'long-link' | 'pax' | 'pax-global';
  readonly chunks: Buffer[];
  filled: number;
  /** Content bytes plus padding to the block. */
  readonly total: number;
}

export interface TarReaderOptions {
  /** Most content bytes a file entry may hold, asked at its header; more throws `tooLarge()`. */
  readonly maxContentBytes?: (header: TarHeader) => number;
  readonly tooLarge?: (header: TarHeader) => Error;
  /**
   * A file's content may be a view of the bytes pushed (when it lies within one pushed chunk) rather
   * than a copy: for a caller that hands content on at once and copies what it keeps, since a view
   * keeps its whole chunk alive. The chunks must not change after they are pushed. Default: a copy.
   */
  readonly viewContent?: boolean;
}

/**
 * Push parser: `push` takes the next bytes of the stream and returns the entries they completed,
 * in order; `end` says the stream ended (an error if it ended inside an entry).
 */
export class TarReader {
  readonly #options: TarReaderOptions;
  #held: Buffer = Buffer.alloc(0);
  #pending: Pending | null = null;
  #longName: string | null = null;
  #longLink: string | null = null;
  #pax: Map<string, string> | null = null;
  #paxGlobal = new Map<string, string>();
  /** Zero blocks in a row just read: two are the archive's end. */
  #zeroBlocks = 0;
  #ended = false;
  /** Bytes of the stream read, and where the last entry ended. */
  #position = 0;
  #lastEnd = 0;

  constructor(options: TarReaderOptions = {}) {
    this.#options = options;
  }

  /**
   * Whether the end marker (two zero blocks) was read. What follows it (a writer's padding to its
   * record size, or anything else) is not part of the archive: it is neither parsed nor held.
   */
  get ended(): boolean {
    return this.#ended;
  }

  /** The archive's pax global records read so far (a writer's metadata about the whole archive). */
  get globals(): ReadonlyMap<string, string> {
    return this.#paxGlobal;
  }

  push(chunk: Uint8Array): TarEntry[] {
    const entries: TarEntry[] = [];
    let data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (data.length > 0 && !this.#ended) {
      const pending = this.#pending;
      if (pending !== null) {
        const take = Math.min(pending.total - pending.filled, data.length);
        if (pending.role !== 'skip') pending.chunks.push(data.subarray(0, take));
        pending.filled += take;
        this.#position += take;
        data = data.subarray(take);
        if (pending.filled === pending.total) {
          this.#pending = null;
          this.#finish(pending, entries);
        }
        continue;
      }
      // A header: gather a whole block first.
      const need = BLOCK - this.#held.length;
      if (data.length < need) {
        this.#held = Buffer.concat([this.#held, data]);
        break;
      }
      let block: Buffer;
      if (this.#held.length === 0) {
        block = data.subarray(0, BLOCK);
        data = data.subarray(BLOCK);
      } else {
        block = Buffer.concat([this.#held, data.subarray(0, need)]);
        data = data.subarray(need);
        this.#held = Buffer.alloc(0);
      }
      this.#position += BLOCK;
      this.#header(block, entries);
    }
    return entries;
  }

  end(): void {
    if (this.#pending !== null || this.#held.length > 0)
      throw new TarFormatError('the archive ends inside an entry');
  }

  #header(block: Buffer, entries: TarEntry[]): void {
    const checksum = checksumOf(block);
    // An all-zero block: the end marker is two in a row.
    if (checksum === 8 * 32 && block.every((byte) => byte === 0)) {
      this.#zeroBlocks += 1;
      if (this.#zeroBlocks === 2) {
        this.#ended = true;
        this.#held = Buffer.alloc(0);
      }
      return;
    }
    this.#zeroBlocks = 0;
    if (checksum !== number(block, 148, 8, 'checksum'))
      throw new TarFormatError('a header checksum does not match (is it a tar archive?)');
    const ustar = isUstar(block);
    if (!ustar && !isGnu(block)) throw new TarFormatError('a header is in an unknown format');
    let name = text(block, 0, 100);
    if (ustar && block[345] !== 0) name = `${text(block, 345, 155)}/${name}`;
    const flag = block[156] === 0 ? 0 : (block[156] ?? 0) - 48;
    let size = number(block, 124, 12, 'size');
    const linkByte = block[157] ?? 0;
    let header: TarHeader = {
      name,
      type: TYPES[flag] ?? null,
      mode: number(block, 100, 8, 'mode'),
      uid: number(block, 108, 8, 'uid'),
      gid: number(block, 116, 8, 'gid'),
      size,
      mtime: new Date(number(block, 136, 12, 'mtime') * 1000),
      linkname: linkByte === 0 ? null : text(block, 157, 100),
    };
    let role: Pending['role'];
    if (flag === PAX || flag === PAX_GLOBAL || flag === GNU_LONG_LINK || GNU_LONG_NAMES.has(flag)) {
      if (size > MAX_META_BYTES) throw new TarFormatError('a long name or pax header is too long');
      role =
        flag === PAX
          ? 'pax'
          : flag === PAX_GLOBAL
            ? 'pax-global'
            : flag === GNU_LONG_LINK
              ? 'long-link'
              : 'long-name';
    } else {
      const pax = this.#pax === null ? this.#paxGlobal : new Map([...this.#paxGlobal, ...this.#pax]);
      const paxSize = pax.get('size');
      if (paxSize !== undefined) {
        if (!/^[0-9]{1,16}$/.test(paxSize)) throw new TarFormatError('a pax size is not a number');
        size = Number(paxSize);
        if (!Number.isSafeInteger(size)) throw new TarFormatError('a pax size is too large');
      }
      header = {
        ...header,
        name: pax.get('path') ?? this.#longName ?? header.name,
        linkname: pax.get('linkpath') ?? this.#longLink ?? header.linkname,
        size,
      };
      this.#pax = null;
      this.#longName = null;
      this.#longLink = null;
      const isFile = header.type === 'file' || header.type === 'contiguous-file';
      if (
        isFile &&
        this.#options.maxContentBytes !== undefined &&
        size > this.#options.maxContentBytes(header)
      )
        throw this.#options.tooLarge?.(header) ?? new TarFormatError(`${header.name} is too large`);
      role = isFile ? 'entry' : 'skip';
      if (!isFile) header = { ...header, size: 0 };
    }
    const total = Math.ceil(size / BLOCK) * BLOCK;
    const pending: Pending = { header, role, chunks: [], filled: 0, total };
    if (total === 0) this.#finish(pending, entries);
    else this.#pending = pending;
  }

  #finish(pending: Pending, entries: TarEntry[]): void {
    const { header, role } = pending;
    const streamBytes = this.#position - this.#lastEnd;
    if (role === 'skip') {
      this.#lastEnd = this.#position;
      entries.push({ header, streamBytes, content: Buffer.alloc(0) });
      return;
    }
    // A copy, unless asked for a view: the content outlives the chunks it came in, whoever owns those.
    const [only] = pending.chunks;
    const content =
      role === 'entry' && this.#options.viewContent === true && pending.chunks.length === 1 && only
        ? only.subarray(0, header.size)
        : Buffer.concat(pending.chunks, pending.total).subarray(0, header.size);
    if (role === 'entry') {
      this.#lastEnd = this.#position;
      entries.push({ header, streamBytes, content });
    } else if (role === 'long-name' || role === 'long-link') {
      const end = content.indexOf(0);
      const value = content.toString('utf8', 0, end === -1 ? content.length : end);
      if (role === 'long-name') this.#longName = value;
      else this.#longLink = value;
    } else {
      const records = paxRecords(content);
      if (role === 'pax') this.#pax = records;
      else for (const [key, value] of records) this.#paxGlobal.set(key, value);
    }
  }
}

// Security limitations:
// - A file entry is held whole (up to the caller's `maxContentBytes`, the archive's byte limit), and up
//   to MAX_META_BYTES of long names and pax records besides: that is the memory one entry may take.
// - The content of anything but a file (a directory, a link, a device with a size) is skipped, not
//   bounded by the byte limit: it costs reading, never memory.
// - Sparse files, GNU multi-volume and incremental entries are not understood; they come out as
//   entries of an unknown type (null), which every caller leaves out or refuses.
