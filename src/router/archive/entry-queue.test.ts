import { describe, expect, it } from 'vitest';
import { TAR_END, TarReader, tarEntry } from '../../local-tree/index.ts';
import { createEntryQueue, MAX_QUEUED_BYTES } from './entry-queue.ts';

const mtime = new Date(0);
const file = (name: string, bytes: number): Buffer =>
  tarEntry({ name, type: 'file', mode: 0o644, mtime }, Buffer.alloc(bytes, 1));

describe('the export entry queue', () => {
  it('handles entries in order and asks the sandbox to wait while more than a few MiB wait', async () => {
    const handled: string[] = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let finished = false;
    const queue = createEntryQueue(new TarReader(), {
      handle: async (entry) => {
        handled.push(entry.header.name);
        await gate;
      },
      fail: (error) => {
        throw error;
      },
      finished: () => (finished = true),
    });
    const big = Math.ceil(MAX_QUEUED_BYTES / 2);
    expect(queue.sink.write(file('a', 10))).toBe(true);
    expect(queue.sink.write(file('b', big))).toBe(true);
    // A third entry puts more than MAX_QUEUED_BYTES in waiting: the writer must wait for 'drain'.
    expect(queue.sink.write(file('c', big))).toBe(false);
    const drained = new Promise<void>((resolve) => queue.sink.once('drain', resolve));
    queue.sink.write(TAR_END);
    queue.end();
    release();
    await drained;
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(finished).toBe(true);
  });

  it('counts what entries took of the stream, so a tree of empty directories makes the sandbox wait too (adversarial)', () => {
    const queue = createEntryQueue(new TarReader(), {
      handle: () => new Promise<void>(() => undefined),
      fail: (error) => {
        throw error;
      },
      finished: () => undefined,
    });
    const dirs = Buffer.concat(
      Array.from({ length: 1024 }, (_, index) =>
        tarEntry({ name: `d${index}`, type: 'directory', mode: 0o755, mtime }),
      ),
    );
    const answers: boolean[] = [];
    for (let written = 0; written <= MAX_QUEUED_BYTES; written += dirs.length)
      answers.push(queue.sink.write(dirs));
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.at(-1)).toBe(false);
  });

  it('stops at the first bad chunk and handles nothing after it (adversarial: not a tar)', async () => {
    const handled: string[] = [];
    const failures: Error[] = [];
    const queue = createEntryQueue(new TarReader(), {
      handle: async (entry) => {
        handled.push(entry.header.name);
      },
      fail: (error) => failures.push(error),
      finished: () => undefined,
    });
    queue.sink.write(Buffer.alloc(512, 0x41));
    queue.sink.write(file('after', 1));
    queue.end();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(failures).toHaveLength(1);
    expect(handled).toEqual([]);
  });
});
