import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extract, pack } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { MAX_META_BYTES, TarFormatError, TarReader } from './tar-reader.ts';
import { TAR_END, tarEntry, tarGlobalHeader } from './tar-writer.ts';
import type { TarEntry } from './tar-reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-tar-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Seen {
  name: string;
  type: string | null;
  size: number;
  mode: number;
  linkname: string | null;
  content: string;
}

/** What tar-stream, a general tar library, reads from `tar`. */
async function byTarStream(tar: Buffer): Promise<Seen[]> {
  const seen: Seen[] = [];
  const reader = extract();
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const isFile = header.type === 'file' || header.type === 'contiguous-file';
      seen.push({
        name: header.name,
        type: header.type ?? null,
        size: isFile ? (header.size ?? 0) : 0,
        mode: header.mode ?? 0,
        linkname: header.linkname ?? null,
        content: isFile ? Buffer.concat(chunks).toString('base64') : '',
      });
      next();
    });
  });
  const done = new Promise((resolve, reject) => reader.on('finish', resolve).on('error', reject));
  reader.end(tar);
  await done;
  return seen;
}

/** What TarReader reads from `tar`, pushed in pieces of `step` bytes. */
function byReader(tar: Buffer, step: number): Seen[] {
  const reader = new TarReader();
  const entries: TarEntry[] = [];
  for (let offset = 0; offset < tar.length; offset += step)
    entries.push(...reader.push(tar.subarray(offset, offset + step)));
  reader.end();
  return entries.map(({ header, content }) => ({
    name: header.name,
    type: header.type,
    size: header.size,
    mode: header.mode,
    linkname: header.linkname,
    content: content.toString('base64'),
  }));
}

let made: string | undefined;
function hostTree(): string {
  if (made !== undefined) return made;
  const root = join(dir, 'tree');
  const deep = join(root, 'a'.repeat(60), 'b'.repeat(60), 'c'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, `${'long-name-'.repeat(12)}.txt`), 'deep\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'exact-block'), Buffer.alloc(512, 7));
  writeFileSync(join(root, 'big'), Buffer.alloc(300_000, 9));
  writeFileSync(join(root, 'utf8-ñame'), 'ñ');
  symlinkSync(`${'../'.repeat(3)}${'t'.repeat(120)}`, join(root, 'long-link'));
  linkSync(join(root, 'empty'), join(root, 'hard'));
  made = root;
  return root;
}

describe('TarReader reads what real tars write as a general tar library does', () => {
  const root = hostTree();
  const formats = ['gnu', 'pax', 'posix', 'ustar'];
  it.each(formats)('GNU tar --format=%s, in pieces of every size', async (format) => {
    const made = spawnSync('tar', [`--format=${format}`, '-cf', '-', '-C', root, '.'], {
      maxBuffer: 64 * 1024 * 1024,
    });
    // ustar cannot hold the longest names: GNU tar leaves them out and says so.
    if (format !== 'ustar') expect(made.status).toBe(0);
    const tar = made.stdout;
    const expected = await byTarStream(tar);
    expect(expected.length).toBeGreaterThan(5);
    for (const step of [1, 100, 511, 512, 513, 65536, tar.length])
      expect(byReader(tar, step)).toEqual(expected);
  });

  it('tar-stream pack output (pax headers for long names)', async () => {
    const archive = pack();
    archive.entry({ name: `${'x'.repeat(90)}/${'y'.repeat(90)}/${'z'.repeat(120)}`, mode: 0o640 }, 'hello');
    archive.entry({ name: 'link', type: 'symlink', linkname: 'l'.repeat(150) });
    archive.entry({ name: 'dir', type: 'directory', mode: 0o755 });
    archive.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of archive) chunks.push(chunk as Buffer);
    const tar = Buffer.concat(chunks);
    const expected = await byTarStream(tar);
    expect(expected.length).toBe(3);
    for (const step of [1, 7, 512, tar.length]) expect(byReader(tar, step)).toEqual(expected);
  });
});

describe('TarReader refuses what is not a tar archive (adversarial)', () => {
  const oneFile = (): Buffer => spawnSync('tar', ['-cf', '-', '-C', hostTree(), 'empty']).stdout;

  it('a header whose checksum does not add up', () => {
    const tar = Buffer.from(oneFile());
    tar[0] = (tar[0] ?? 0) ^ 1;
    expect(() => new TarReader().push(tar)).toThrow(TarFormatError);
  });

  it('a stream cut short inside an entry', () => {
    const tar = spawnSync('tar', ['-cf', '-', '-C', hostTree(), 'big']).stdout;
    const reader = new TarReader();
    reader.push(tar.subarray(0, 4096));
    expect(() => reader.end()).toThrow(TarFormatError);
  });

  it('a long name longer than any path, before holding it', () => {
    const archive = spawnSync('tar', ['-cf', '-', '-C', hostTree(), 'empty']).stdout;
    const header = Buffer.from(archive.subarray(0, 512));
    header.fill(0, 0, 100);
    header.write('././@LongLink', 0);
    header[156] = 'L'.charCodeAt(0);
    header.write(`${(MAX_META_BYTES + 1).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
    header.fill(32, 148, 156);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
    expect(() => new TarReader().push(header)).toThrow(/too long/);
  });

  it('a file over the caller’s limit, at its header, before its content is held', () => {
    const tar = spawnSync('tar', ['-cf', '-', '-C', hostTree(), 'big']).stdout;
    const reader = new TarReader({
      maxContentBytes: () => 1000,
      tooLarge: (header) => new Error(`${header.name} over the limit`),
    });
    expect(() => reader.push(tar.subarray(0, 512))).toThrow('big over the limit');
  });
});

describe('TarReader stops at the end marker', () => {
  const mtime = new Date(0);
  const file = (name: string, body: string): Buffer =>
    tarEntry({ name, type: 'file', mode: 0o644, mtime }, Buffer.from(body));

  it('reads nothing after two zero blocks, whatever follows (adversarial: an entry appended)', () => {
    const tar = Buffer.concat([file('a', 'one'), TAR_END, file('after', 'two'), Buffer.alloc(512, 0x41)]);
    for (const step of [1, 100, 512, tar.length]) {
      const reader = new TarReader();
      const names: string[] = [];
      for (let offset = 0; offset < tar.length; offset += step)
        names.push(...reader.push(tar.subarray(offset, offset + step)).map((entry) => entry.header.name));
      expect(names).toEqual(['a']);
      expect(reader.ended).toBe(true);
      expect(() => reader.end()).not.toThrow();
    }
  });

  it('is not ended by one zero block between entries, nor by an archive cut before its marker', () => {
    const reader = new TarReader();
    const names = reader
      .push(Buffer.concat([file('a', 'one'), Buffer.alloc(512), file('b', 'two')]))
      .map((entry) => entry.header.name);
    expect(names).toEqual(['a', 'b']);
    expect(reader.ended).toBe(false);
  });

  it('gives each entry the stream bytes it took, and the global records read', () => {
    const tar = Buffer.concat([
      file('a', 'x'.repeat(600)),
      tarGlobalHeader({ 'AIRLOCK.test': 'v' }),
      TAR_END,
    ]);
    const reader = new TarReader({ viewContent: true });
    const entries = reader.push(tar);
    expect(entries.map((entry) => entry.streamBytes)).toEqual([512 + 1024]);
    expect(reader.globals.get('AIRLOCK.test')).toBe('v');
    expect(reader.ended).toBe(true);
  });
});
