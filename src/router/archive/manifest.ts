/**
 * The manifest an archive's audit digest is taken over, both ways (copied in and copied out): each
 * entry in order with its kind, permission bits, mtime, size, content sha256 and name, and a link's
 * target. It stands for the archive without hashing its bytes a second time: every file's content is
 * hashed once anyway (to compare it with what was copied in), and the same entries in the same order
 * give the same digest whatever the tar's framing.
 */
import type { TarWriteHeader } from '../../local-tree/index.ts';

/**
 * One entry's line. Names and link targets are JSON, so no name can end a line or pass for another
 * field; `sha256` is '' for anything but a file.
 */
export function manifestLine(header: TarWriteHeader, sizeBytes: number, sha256: string): string {
  const mtime = Math.floor(header.mtime.getTime() / 1000);
  const link = header.linkname === undefined ? '' : ` -> ${JSON.stringify(header.linkname)}`;
  return `${header.type} ${header.mode.toString(8)} ${mtime} ${sizeBytes} ${sha256 || '-'} ${JSON.stringify(header.name)}${link}\n`;
}
