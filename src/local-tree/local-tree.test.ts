import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack } from 'tar-stream';
import type { Headers } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { scratchDirs } from '../../test/support/scratch-dirs.ts';
import { packDirectoryStream, sendDirectory, unpackInto } from './local-tree.ts';

const scratch = scratchDirs('airlock-local-tree-');

async function tarOf(entries: Array<Headers & { body?: string }>): Promise<Buffer> {
  const archive = pack();
  for (const { body, ...header } of entries) archive.entry(header, body);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('unpackInto: an archive from a server is not trusted', () => {
  it('writes nothing outside the target, whatever names, symlinks and hard links the archive holds', async () => {
    const outside = scratch();
    writeFileSync(join(outside, 'victim'), 'original\n');
    const root = join(scratch(), 'target');
    const hostile = [
      { name: '../escape.txt', body: 'x' },
      { name: '/abs.txt', body: 'x' },
      { name: 'up', type: 'symlink' as const, linkname: outside },
      { name: 'up/victim', body: 'overwritten\n' },
      { name: 'rel-up', type: 'symlink' as const, linkname: '../..' },
      { name: 'hard', type: 'link' as const, linkname: `../${join('..', outside, 'victim')}` },
      { name: 'hard', body: 'overwritten\n' },
      { name: 'ok.txt', body: 'fine\n' },
      { name: 'inside', type: 'symlink' as const, linkname: 'ok.txt' },
      { name: 'same', type: 'link' as const, linkname: 'ok.txt' },
    ];
    const result = await unpackInto(root, await tarOf(hostile));
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original\n');
    expect(existsSync(join(root, '..', 'escape.txt'))).toBe(false);
    // `up/victim` is then an ordinary file in a new directory `up`, inside the target.
    expect(lstatSync(join(root, 'up')).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(root, 'up', 'victim'), 'utf8')).toBe('overwritten\n');
    expect(existsSync(join(root, 'rel-up'))).toBe(false);
    const why = Object.fromEntries(result.leftOut.map((note) => [note.path, note.why]));
    expect(why['up']).toMatch(/outside the destination/);
    expect(why['rel-up']).toMatch(/outside the destination/);
    // The hard link to a path of the archive's choosing is refused; the file of that name is then an
    // ordinary new file inside the target.
    expect(readFileSync(join(root, 'hard'), 'utf8')).toBe('overwritten\n');
    expect(lstatSync(join(root, 'hard')).nlink).toBe(1);
    // What stays inside is written: a link to a file next to it, a hard link to a file written here.
    expect(lstatSync(join(root, 'inside')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, 'same'), 'utf8')).toBe('fine\n');
  });

  it('never writes through a symlink already planted in the target', async () => {
    const outside = scratch();
    writeFileSync(join(outside, 'victim'), 'original\n');
    const root = scratch();
    symlinkSync(join(outside, 'victim'), join(root, 'planted'));
    const result = await unpackInto(root, await tarOf([{ name: 'planted', body: 'overwritten\n' }]));
    expect(readFileSync(join(outside, 'victim'), 'utf8')).toBe('original\n');
    expect(result.leftOut.map((note) => note.path)).toEqual(['planted']);
  });
});

describe('packDirectoryStream: a reader that stops early', () => {
  it('ends the walk with an error instead of waiting forever when the archive is cancelled mid-tree', async () => {
    const root = scratch();
    // Bigger than the stream's buffer, so the walk is held back waiting for the reader.
    for (let dir = 0; dir < 20; dir += 1) {
      mkdirSync(join(root, `d${dir}`));
      for (let file = 0; file < 20; file += 1)
        writeFileSync(join(root, `d${dir}`, `f${file}`), Buffer.alloc(8 * 1024, 'x'));
    }
    const packed = packDirectoryStream(root);
    const iterator = packed.tar[Symbol.asyncIterator]();
    await iterator.next();
    packed.cancel();
    const settled = await Promise.race([
      packed.summary.then(
        () => 'finished',
        (error: Error) => error.message,
      ),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 2000)),
    ]);
    expect(settled).toMatch(/closed before the directory was packed/);
  });

  it('packs the whole tree when read to the end', async () => {
    const root = scratch();
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.ts'), 'a\n');
    symlinkSync('/etc/passwd', join(root, 'link'));
    const packed = packDirectoryStream(root);
    const chunks: Buffer[] = [];
    for await (const chunk of packed.tar) chunks.push(chunk);
    const summary = await packed.summary;
    expect(summary.files).toBe(1);
    expect(summary.leftOut.map((note) => note.path)).toEqual(['link']);
    const back = scratch();
    await unpackInto(back, Buffer.concat(chunks));
    expect(readFileSync(join(back, 'src', 'a.ts'), 'utf8')).toBe('a\n');
  });
});

describe('sendDirectory', () => {
  it("answers with what send answered and the walk's notes, and fails with send's error when it refuses early", async () => {
    const root = scratch();
    for (let file = 0; file < 300; file += 1)
      writeFileSync(join(root, `f${file}`), Buffer.alloc(8 * 1024, 'y'));
    symlinkSync('/etc/passwd', join(root, 'link'));
    const sent = await sendDirectory(root, { skip: () => false }, async (tar) => {
      let bytes = 0;
      for await (const chunk of tar) bytes += chunk.length;
      return bytes;
    });
    expect(sent.result).toBeGreaterThan(300 * 8 * 1024);
    expect(sent.leftOut.map((note) => note.path)).toEqual(['link']);
    // A receiver that refuses after the first piece: its error, at once, not a walk left waiting.
    const refused = sendDirectory(root, { skip: () => false }, async (tar) => {
      for await (const chunk of tar) {
        void chunk;
        throw new Error('refused by the receiver');
      }
      return 0;
    });
    await expect(refused).rejects.toThrow('refused by the receiver');
  });
});
