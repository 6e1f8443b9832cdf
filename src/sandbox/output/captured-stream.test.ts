import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CapturedStream } from './captured-stream.ts';

const dir = mkdtempSync(join(tmpdir(), 'airlock-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('CapturedStream', () => {
  it('keeps the head in memory, spools the stream to the stored limit and counts the rest', () => {
    const stream = new CapturedStream(join(dir, 'a'), { maxMemoryBytes: 4, maxStoredBytes: 10 });
    stream.write(Buffer.from('abc'));
    stream.write(Buffer.from('defgh'));
    stream.write(Buffer.from('ijklmnop'));
    stream.close();
    expect(stream.text).toBe('abcd');
    expect(stream.totalBytes).toBe(16);
    expect(stream.storedBytes).toBe(10);
    expect(stream.truncated).toBe(true);
    expect(stream.read(0, 100).toString()).toBe('abcdefghij');
    expect(stream.read(8, 5).toString()).toBe('ij');
    stream.discard();
    expect(stream.spoolPath).toBeUndefined();
  });

  it('keeps nothing and creates no spool file when nothing is to be stored (a stream read only by its sink)', () => {
    const path = join(dir, 'none');
    const stream = new CapturedStream(path, { maxMemoryBytes: 0, maxStoredBytes: 0 });
    stream.write(Buffer.alloc(64 * 1024, 1));
    stream.write(Buffer.from('secret-looking tail'));
    stream.close();
    expect(stream.text).toBe('');
    expect(stream.totalBytes).toBe(64 * 1024 + 19);
    expect(stream.storedBytes).toBe(0);
    expect(stream.spoolPath).toBeUndefined();
    expect(existsSync(path)).toBe(false);
  });

  it('never shows half a character where the memory cap cuts one (adversarial: emoji at the cut)', () => {
    const stream = new CapturedStream(join(dir, 'b'), { maxMemoryBytes: 6, maxStoredBytes: 64 });
    stream.write(Buffer.from('ab😀cd')); // the emoji spans bytes 2..5; the cap cuts after byte 6
    stream.close();
    expect(stream.text).toBe('ab😀');
    const cut = new CapturedStream(join(dir, 'c'), { maxMemoryBytes: 4, maxStoredBytes: 64 });
    cut.write(Buffer.from('ab😀cd'));
    cut.close();
    expect(cut.text).toBe('ab');
    expect(cut.text).not.toContain('\uFFFD');
    cut.discard();
    stream.discard();
  });

  it('keeps output that fits entirely in memory without touching the disk', () => {
    const stream = new CapturedStream(join(dir, 'd'), { maxMemoryBytes: 64, maxStoredBytes: 64 });
    stream.write(Buffer.from('héllo'));
    stream.close();
    expect(stream.text).toBe('héllo');
    expect(stream.truncated).toBe(false);
    expect(stream.spoolPath).toBeUndefined();
    expect(stream.read(1, 2).toString()).toBe('é');
  });
});
