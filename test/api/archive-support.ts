/** Tar archives for the archive tests, made with tar-stream (the library the server itself uses). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Headers } from 'tar-stream';
import { afterEach } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock } from '../../src/index.ts';

/**
 * An opener of Airlocks on a driver, each in its own home (named `airlock-<name>-…`), no person asked
 * unless `config` says so; every one opened in a test is closed and its home removed after it.
 */
export function airlocksFor(
  name: string,
): (driver: string, config?: Record<string, unknown>) => Promise<Airlock> {
  const opened: Array<{ airlock: Airlock; home: string }> = [];
  afterEach(async () => {
    for (const { airlock, home } of opened.splice(0)) {
      await airlock.close();
      rmSync(home, { recursive: true, force: true });
    }
  });
  return async (driver, config = {}) => {
    const home = mkdtempSync(join(tmpdir(), `airlock-${name}-`));
    const airlock = await createAirlock({
      crossCheck: false,
      home,
      env: { HOME: home },
      config: {
        router: { approvalRequiredFor: [] },
        ...config,
        sandbox: { driver, scratch: '256m', ...(config['sandbox'] as object) },
      },
    });
    opened.push({ airlock, home });
    return airlock;
  };
}

export type TarEntry = Headers & { readonly body?: string | Buffer };

export async function tarOf(entries: readonly TarEntry[], options: { gzip?: boolean } = {}): Promise<Buffer> {
  const archive = pack();
  for (const { body, ...header } of entries) archive.entry(header, body);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive) chunks.push(chunk as Buffer);
  const tar = Buffer.concat(chunks);
  return options.gzip === true ? gzipSync(tar) : tar;
}

export interface ReadEntry {
  readonly name: string;
  readonly type: string;
  readonly mode: number;
  readonly mtime: Date;
  readonly linkname: string | null;
  /** The content as text, and as it is. */
  readonly body: string;
  readonly bytes: Buffer;
}

export async function entriesOf(tar: Uint8Array): Promise<ReadEntry[]> {
  const reader = extract();
  const entries: ReadEntry[] = [];
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const bytes = Buffer.concat(chunks);
      entries.push({
        name: header.name,
        type: header.type ?? 'file',
        mode: header.mode ?? 0,
        mtime: header.mtime ?? new Date(0),
        linkname: header.linkname ?? null,
        body: bytes.toString(),
        bytes,
      });
      next();
    });
  });
  const done = new Promise((resolve, reject) => {
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  reader.end(Buffer.from(tar));
  await done;
  return entries;
}

/** A repository-like tree of `count` small files in nested directories. */
export function repository(count: number): TarEntry[] {
  const entries: TarEntry[] = [];
  for (let index = 0; index < count; index += 1) {
    entries.push({
      name: `src/pkg${index % 40}/mod${index % 7}/file${index}.ts`,
      body: `export const v${index} = ${index};\n`,
    });
  }
  return entries;
}
