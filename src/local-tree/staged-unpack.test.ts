import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchDirs } from '../../test/support/scratch-dirs.ts';
import { AirlockError } from '../errors/index.ts';
import { exportSummaryHeader } from './export-summary.ts';
import { unpackWhole } from './staged-unpack.ts';
import { TAR_END, tarEntry } from './tar-writer.ts';

const scratch = scratchDirs('airlock-staged-');

const mtime = new Date(0);
const file = (name: string, body: string): Buffer =>
  tarEntry({ name, type: 'file', mode: 0o644, mtime }, Buffer.from(body));
const dir = (name: string): Buffer => tarEntry({ name, type: 'directory', mode: 0o755, mtime });
const summary = exportSummaryHeader({ files: 2, bytes: 6, leftOut: [{ path: 'fifo', why: 'a FIFO' }] });

async function* pieces(...parts: Buffer[]): AsyncGenerator<Uint8Array> {
  for (const part of parts) yield part;
}

describe('unpackWhole', () => {
  it('moves a whole archive into a new destination, with the summary from its end', async () => {
    const root = scratch();
    const to = join(root, 'out');
    const done = await unpackWhole(
      to,
      pieces(dir('src'), file('src/a.ts', 'one'), file('b', 'two'), summary, TAR_END),
    );
    expect(done.summary).toEqual({ files: 2, bytes: 6, leftOut: [{ path: 'fifo', why: 'a FIFO' }] });
    expect(done.written.sort()).toEqual(['b', 'src/a.ts']);
    expect(readFileSync(join(to, 'src/a.ts'), 'utf8')).toBe('one');
    expect(lstatSync(to).mode & 0o777).toBe(0o755);
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('merges into an existing destination, never replacing a directory there with a file', async () => {
    const root = scratch();
    const to = join(root, 'out');
    mkdirSync(join(to, 'src'), { recursive: true });
    mkdirSync(join(to, 'b'));
    writeFileSync(join(to, 'src/kept.ts'), 'mine');
    writeFileSync(join(to, 'src/a.ts'), 'old');
    const done = await unpackWhole(to, pieces(file('src/a.ts', 'one'), file('b', 'two'), summary, TAR_END));
    expect(readFileSync(join(to, 'src/a.ts'), 'utf8')).toBe('one');
    expect(readFileSync(join(to, 'src/kept.ts'), 'utf8')).toBe('mine');
    expect(lstatSync(join(to, 'b')).isDirectory()).toBe(true);
    expect(done.written).toEqual(['src/a.ts']);
    expect(done.leftOut).toEqual([{ path: 'b', why: expect.stringMatching(/in the way/) as unknown }]);
    expect(readdirSync(root)).toEqual(['out']);
  });

  it('never writes through a symlink planted in the destination (adversarial)', async () => {
    const root = scratch();
    const to = join(root, 'out');
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'b'), 'theirs');
    mkdirSync(to);
    symlinkSync(join(outside, 'b'), join(to, 'b'));
    symlinkSync(outside, join(to, 'src'));
    const done = await unpackWhole(to, pieces(file('src/a.ts', 'one'), file('b', 'two'), summary, TAR_END));
    expect(readFileSync(join(outside, 'b'), 'utf8')).toBe('theirs');
    expect(readdirSync(outside)).toEqual(['b']);
    expect(lstatSync(join(to, 'b')).isFile()).toBe(true);
    expect(lstatSync(join(to, 'src')).isSymbolicLink()).toBe(true);
    expect(done.written).toEqual(['b']);
    expect(done.leftOut).toEqual([{ path: 'src', why: expect.stringMatching(/in the way/) as unknown }]);
  });

  it('leaves the destination as it was when the archive breaks off, ends early or has no summary (adversarial)', async () => {
    const root = scratch();
    const to = join(root, 'out');
    mkdirSync(to);
    writeFileSync(join(to, 'kept'), 'mine');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield file('a', 'one');
      throw new AirlockError('LIMIT_REACHED', 'the tree has more than 1 entries');
    }
    const cases: Array<[string, AsyncIterable<Uint8Array>, RegExp]> = [
      ['broken', broken(), /more than 1 entries/],
      ['no end marker', pieces(file('a', 'one'), summary), /end marker/],
      ['no summary', pieces(file('a', 'one'), TAR_END), /without its summary/],
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const [, tar, error] of cases) {
      await expect(unpackWhole(to, tar)).rejects.toThrow(error);
      await expect(unpackWhole(join(root, 'fresh'), pieces(file('a', 'one')))).rejects.toThrow();
      expect(readdirSync(to)).toEqual(['kept']);
      expect(readdirSync(root)).toEqual(['out']);
      expect(existsSync(join(root, 'fresh'))).toBe(false);
    }
  });
});
