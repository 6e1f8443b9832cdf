import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TAR_END, TarReader, tarEntry } from '../../local-tree/index.ts';
import type { TarWriteHeader } from '../../local-tree/index.ts';
import { checkIncomingArchive } from './incoming.ts';
import { DEFAULT_ARCHIVE_LIMITS } from './limits.ts';

const mtime = new Date('2026-01-02T03:04:05Z');

function archive(files: ReadonlyArray<{ name: string; body: string; mode?: number }>): Buffer {
  const parts: Buffer[] = [tarEntry({ name: 'src', type: 'directory', mode: 0o755, mtime })];
  for (const file of files) {
    const header: TarWriteHeader = { name: file.name, type: 'file', mode: file.mode ?? 0o644, mtime };
    parts.push(tarEntry(header, Buffer.from(file.body)));
  }
  return Buffer.concat([...parts, TAR_END]);
}

async function* cut(bytes: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** The archive checked, as it reached the sink (pieces joined), and its audit digest. */
async function check(bytes: Buffer, chunkSize: number): Promise<{ packed: Buffer; sha256: string }> {
  const received: Buffer[] = [];
  const checked = await checkIncomingArchive(
    cut(bytes, chunkSize),
    DEFAULT_ARCHIVE_LIMITS,
    async (pieces) => {
      // Copied as they arrive: the pieces are views that must be used before the next call.
      received.push(...pieces.map((piece) => Buffer.from(piece)));
    },
  );
  return { packed: Buffer.concat(received), sha256: checked.sha256 };
}

const files = [
  { name: 'src/a.ts', body: 'export const a = 1;\n'.repeat(300) },
  { name: 'src/b.ts', body: 'b'.repeat(511) },
  { name: 'src/c.ts', body: '' },
];

describe('an incoming archive, checked and packed again', () => {
  it('hands on the same archive and digest however the body is cut, each file whole', async () => {
    const bytes = archive(files);
    const whole = await check(bytes, bytes.length);
    expect(whole.sha256).toMatch(/^[0-9a-f]{64}$/);
    for (const size of [1, 7, 512, 1000, 4096]) {
      const again = await check(bytes, size);
      expect(again.sha256, `chunks of ${size}`).toBe(whole.sha256);
      expect(again.packed.equals(whole.packed), `chunks of ${size}`).toBe(true);
    }
    const read = new TarReader().push(whole.packed);
    expect(read.map((entry) => [entry.header.name, entry.content.toString()])).toEqual([
      ['src/', ''],
      ...files.map((file) => [file.name, file.body]),
    ]);
  });

  it('gives another digest when one byte, one name or one mode differs', async () => {
    expect(files.length).toBeGreaterThan(0);
    const base = (await check(archive(files), 4096)).sha256;
    const variants = [
      files.map((file, index) => (index === 1 ? { ...file, body: `${file.body.slice(0, -1)}c` } : file)),
      files.map((file, index) => (index === 2 ? { ...file, name: 'src/d.ts' } : file)),
      files.map((file, index) => (index === 0 ? { ...file, mode: 0o755 } : file)),
    ];
    for (const variant of variants) expect((await check(archive(variant), 4096)).sha256).not.toBe(base);
  });

  it('cannot be matched by a name that spells out another entry (adversarial)', async () => {
    // Names are in the manifest as JSON: a name holding a newline and the line of another entry
    // (as a plain-text manifest would have it) stays one entry, with a digest of its own.
    const sha = (text: string): string => createHash('sha256').update(text).digest('hex');
    const seconds = mtime.getTime() / 1000;
    const two = archive([
      { name: 'src/p', body: 'x' },
      { name: 'src/q', body: 'y' },
    ]);
    for (const quote of ['', '"']) {
      const name = `src/p${quote}\nfile 644 ${seconds} 1 ${sha('y')} ${quote}src/q`;
      const forged = archive([{ name, body: 'x' }]);
      expect((await check(forged, 4096)).sha256).not.toBe((await check(two, 4096)).sha256);
    }
  });
});
