/**
 * Tar entries made as plain buffers, in the layout tar-stream writes (ustar, a name split into prefix
 * and name where it fits, a pax header where it does not: longer or non-ASCII names and link names).
 * Entries gathered into pieces of about a MiB, each entry's content copied once, into its piece: a tree
 * of many small files costs a few allocations a file instead of a stream write per block.
 */

export interface TarWriteHeader {
  readonly name: string;
  readonly type: 'file' | 'directory' | 'symlink' | 'link';
  /** Permission bits (and any others the caller chose to keep). */
  readonly mode: number;
  readonly mtime: Date;
  readonly linkname?: string;
}

const BLOCK = 512;
/** The end of an archive: two zero blocks. */
export const TAR_END: Buffer = Buffer.alloc(2 * BLOCK);
const TYPE_FLAGS = { file: 48, link: 49, symlink: 50, directory: 53 } as const;
const PAX_FLAG = 120; // 'x'
const PAX_GLOBAL_FLAG = 103; // 'g'
/** Padding after content; shared and never written to. */
const ZEROS = Buffer.alloc(BLOCK);

/** `value` as `digits` octal digits then a space (all 7s when it does not fit), written byte by byte. */
function octal(block: Buffer, offset: number, digits: number, value: number): void {
  let rest = Math.max(0, Math.floor(value));
  const fits = rest < 8 ** digits;
  for (let index = digits - 1; index >= 0; index -= 1) {
    block[offset + index] = fits ? 48 + (rest % 8) : 55;
    rest = Math.floor(rest / 8);
  }
  block[offset + digits] = 32;
}

function isAscii(text: string): boolean {
  return Buffer.byteLength(text) === text.length;
}

/** The name split into ustar's prefix and name fields, or null when it cannot be. */
function splitName(name: string): { prefix: string; name: string } | null {
  if (!isAscii(name)) return null;
  let prefix = '';
  let rest = name;
  while (rest.length > 100) {
    const slash = rest.indexOf('/');
    if (slash === -1) return null;
    prefix += prefix === '' ? rest.slice(0, slash) : `/${rest.slice(0, slash)}`;
    rest = rest.slice(slash + 1);
  }
  return prefix.length > 155 ? null : { prefix, name: rest };
}

function headerBlock(
  target: Buffer,
  at: number,
  fields: {
    name: string;
    prefix: string;
    flag: number;
    mode: number;
    size: number;
    mtime: Date;
    linkname: string;
  },
): void {
  const block = target.subarray(at, at + BLOCK);
  block.fill(0);
  block.write(fields.name, 0, 100, 'latin1');
  octal(block, 100, 6, fields.mode & 0o7777);
  octal(block, 108, 6, 0);
  octal(block, 116, 6, 0);
  octal(block, 124, 11, fields.size);
  octal(block, 136, 11, fields.mtime.getTime() / 1000);
  block[156] = fields.flag;
  if (fields.linkname !== '') block.write(fields.linkname, 157, 100, 'latin1');
  block.write('ustar\u000000', 257, 'latin1');
  octal(block, 329, 6, 0);
  octal(block, 337, 6, 0);
  if (fields.prefix !== '') block.write(fields.prefix, 345, 155, 'latin1');
  let sum = 8 * 32;
  for (let index = 0; index < 148; index += 1) sum += block[index] ?? 0;
  for (let index = 156; index < BLOCK; index += 1) sum += block[index] ?? 0;
  octal(block, 148, 6, sum);
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let digits = String(bodyBytes).length;
  if (bodyBytes + digits >= 10 ** digits) digits += 1;
  return `${bodyBytes + digits}${body}`;
}

const padded = (size: number): number => Math.ceil(size / BLOCK) * BLOCK;

/** How an entry's header is laid out: plain ustar, or a pax header (its records) before it. */
function layoutOf(header: TarWriteHeader): {
  name: string;
  linkname: string;
  split: { prefix: string; name: string } | null;
  pax: Buffer | null;
} {
  const name = header.type === 'directory' && !header.name.endsWith('/') ? `${header.name}/` : header.name;
  const linkname = header.linkname ?? '';
  const split = splitName(name);
  if (split !== null && isAscii(linkname) && linkname.length <= 100)
    return { name, linkname, split, pax: null };
  const pax = Buffer.from(paxRecord('path', name) + (linkname === '' ? '' : paxRecord('linkpath', linkname)));
  return { name, linkname, split, pax };
}

/** The bytes of an entry's header (with its pax header, when it needs one), whatever its size. */
export function tarHeaderBytes(header: TarWriteHeader): number {
  const { pax } = layoutOf(header);
  return pax === null ? BLOCK : BLOCK + padded(pax.length) + BLOCK;
}

/**
 * One entry as the buffers to write in order: its header (a pax header first when needed), then the
 * content itself (not copied) and its padding.
 */
export function tarEntryParts(header: TarWriteHeader, content: Buffer = Buffer.alloc(0)): Buffer[] {
  const { linkname, split, pax } = layoutOf(header);
  const size = header.type === 'file' ? content.length : 0;
  const flag = TYPE_FLAGS[header.type];
  const common = { mode: header.mode, mtime: header.mtime };
  let head: Buffer;
  if (pax === null && split !== null) {
    head = Buffer.allocUnsafe(BLOCK);
    headerBlock(head, 0, { ...common, ...split, flag, size, linkname });
  } else {
    const paxBytes = pax ?? Buffer.alloc(0);
    head = Buffer.allocUnsafe(BLOCK + padded(paxBytes.length) + BLOCK);
    const paxName = { name: 'PaxHeader', prefix: '', linkname: linkname === '' ? '' : 'PaxHeader' };
    headerBlock(head, 0, { ...common, ...paxName, flag: PAX_FLAG, size: paxBytes.length });
    paxBytes.copy(head, BLOCK);
    const at = BLOCK + padded(paxBytes.length);
    head.fill(0, BLOCK + paxBytes.length, at);
    headerBlock(head, at, { ...common, ...paxName, flag, size });
  }
  if (size === 0) return [head];
  const padding = padded(size) - size;
  return padding === 0 ? [head, content] : [head, content, ZEROS.subarray(0, padding)];
}

/**
 * A pax global header ('g') holding `records`: metadata about the archive, not an entry (tar tools skip
 * it; GNU tar may warn about keywords it does not know).
 */
export function tarGlobalHeader(records: Readonly<Record<string, string>>): Buffer {
  const pax = Buffer.from(
    Object.entries(records)
      .map(([key, value]) => paxRecord(key, value))
      .join(''),
  );
  const head = Buffer.alloc(BLOCK + padded(pax.length));
  headerBlock(head, 0, {
    name: 'GlobalHead',
    prefix: '',
    linkname: '',
    flag: PAX_GLOBAL_FLAG,
    mode: 0o644,
    mtime: new Date(0),
    size: pax.length,
  });
  pax.copy(head, BLOCK);
  return head;
}

/** One entry as one buffer: its header (a pax header first when needed), content and padding. */
export function tarEntry(header: TarWriteHeader, content?: Buffer): Buffer {
  const parts = tarEntryParts(header, content);
  return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
}
