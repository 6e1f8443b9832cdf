import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TarReader } from './tar-reader.ts';
import { TarPacker } from './tar-packer.ts';
import { TAR_END } from './tar-writer.ts';
import type { TarWriteHeader } from './tar-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-tar-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mtime = new Date(1_700_000_000_000);
const longDir = `${'d'.repeat(80)}/${'e'.repeat(80)}`;
const entries: Array<[TarWriteHeader, Buffer?]> = [
  [{ name: 'src', type: 'directory', mode: 0o755, mtime }],
  [{ name: 'src/a.ts', type: 'file', mode: 0o644, mtime }, Buffer.from('export {};\n')],
  [{ name: 'empty', type: 'file', mode: 0o600, mtime }, Buffer.alloc(0)],
  [{ name: 'block', type: 'file', mode: 0o644, mtime }, Buffer.alloc(512, 1)],
  [{ name: longDir, type: 'directory', mode: 0o755, mtime }],
  [{ name: `${longDir}/${'f'.repeat(90)}.txt`, type: 'file', mode: 0o640, mtime }, Buffer.from('split')],
  [{ name: `${'g'.repeat(120)}.txt`, type: 'file', mode: 0o644, mtime }, Buffer.from('pax name')],
  [{ name: 'ñame', type: 'file', mode: 0o644, mtime }, Buffer.from('utf-8')],
  [{ name: 'link', type: 'symlink', mode: 0o777, mtime, linkname: `src/${'l'.repeat(120)}` }],
  [{ name: 'hard', type: 'link', mode: 0o644, mtime, linkname: 'src/a.ts' }],
];

function archive(pieceBytes: number): Buffer {
  const packer = new TarPacker(pieceBytes);
  const out: Buffer[] = [];
  for (const [header, content] of entries) out.push(...packer.add(header, content));
  out.push(packer.take(), TAR_END);
  return Buffer.concat(out);
}

describe('the tar writer writes archives other tars read back exactly', () => {
  it('GNU tar unpacks every name, content and link as written', () => {
    const tar = archive(700);
    const target = join(dir, 'gnu');
    spawnSync('mkdir', [target]);
    const result = spawnSync('tar', ['-xf', '-', '-C', target], { input: tar });
    expect(String(result.stderr)).toBe('');
    expect(result.status).toBe(0);
    expect(readFileSync(join(target, `${longDir}/${'f'.repeat(90)}.txt`), 'utf8')).toBe('split');
    expect(readFileSync(join(target, `${'g'.repeat(120)}.txt`), 'utf8')).toBe('pax name');
    expect(readFileSync(join(target, 'ñame'), 'utf8')).toBe('utf-8');
    expect(readFileSync(join(target, 'hard'), 'utf8')).toBe('export {};\n');
    expect(readlinkSync(join(target, 'link'))).toBe(`src/${'l'.repeat(120)}`);
  });

  it('TarReader reads the same entries back, however the pieces fall', () => {
    for (const pieceBytes of [1, 4096, 1 << 20]) {
      const reader = new TarReader();
      const read = reader.push(archive(pieceBytes));
      reader.end();
      expect(read.map(({ header }) => header.name)).toEqual(
        entries.map(([header]) => (header.type === 'directory' ? `${header.name}/` : header.name)),
      );
      expect(read.map(({ content }) => content.toString())).toEqual(
        entries.map(([header, content]) => (header.type === 'file' ? (content ?? '').toString() : '')),
      );
      expect(read.map(({ header }) => header.mode)).toEqual(entries.map(([header]) => header.mode));
    }
  });
});
