import { describe, expect, it } from 'vitest';
import { TarPacker } from './tar-packer.ts';
import { TAR_END, tarEntryParts } from './tar-writer.ts';
import type { TarWriteHeader } from './tar-writer.ts';

const mtime = new Date(1_700_000_000_000);
const entries: Array<[TarWriteHeader, Buffer?]> = [
  [{ name: 'src', type: 'directory', mode: 0o755, mtime }],
  [{ name: 'src/a.ts', type: 'file', mode: 0o644, mtime }, Buffer.from('export {};\n')],
  [{ name: 'empty', type: 'file', mode: 0o600, mtime }, Buffer.alloc(0)],
  [{ name: 'block', type: 'file', mode: 0o644, mtime }, Buffer.alloc(512, 1)],
  [{ name: 'big', type: 'file', mode: 0o644, mtime }, Buffer.alloc(5000, 2)],
  [{ name: `${'g'.repeat(120)}.txt`, type: 'file', mode: 0o644, mtime }, Buffer.from('pax name')],
  [{ name: 'ñame', type: 'file', mode: 0o644, mtime }, Buffer.from('utf-8')],
];

/** The entries' parts one after the other, contents in hand: the layout to match. */
function laidOut(list: ReadonlyArray<[TarWriteHeader, Buffer?]>): Buffer {
  return Buffer.concat([...list.flatMap(([header, content]) => tarEntryParts(header, content)), TAR_END]);
}

/** Each file read into the piece by `read` (given its content), in pieces of `pieceBytes`. */
function packed(
  pieceBytes: number,
  read = (content: Buffer, into: Buffer): number => content.copy(into),
): Buffer {
  const packer = new TarPacker(pieceBytes);
  const out: Buffer[] = [];
  for (const [header, content] of entries) {
    if (header.type === 'file' && content !== undefined)
      out.push(...packer.addRead(header, content.length, (into) => read(content, into)));
    else out.push(...packer.add(header, content));
  }
  return Buffer.concat([...out, packer.take(), TAR_END]);
}

describe('TarPacker', () => {
  it('packs files read into its pieces exactly as the entries lay out in hand, however the pieces fall', () => {
    expect(entries.length).toBeGreaterThan(0);
    for (const pieceBytes of [1, 512, 4096, 1 << 20])
      expect(packed(pieceBytes).equals(laidOut(entries))).toBe(true);
  });

  it('writes what was read, not what was promised, for a file that shrank (no stale bytes)', () => {
    // A file that shrinks after its size was taken: the header says the bytes read, the rest of the
    // room is never handed over (the piece is reused memory, uninitialised).
    const shrunk = packed(4096, (content, into) => content.subarray(0, content.length >> 1).copy(into));
    const halved = entries.map(([header, content]): [TarWriteHeader, Buffer?] =>
      header.type === 'file' && content !== undefined
        ? [header, content.subarray(0, content.length >> 1)]
        : [header],
    );
    expect(shrunk.equals(laidOut(halved))).toBe(true);
  });
});
