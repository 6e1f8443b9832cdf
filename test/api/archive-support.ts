/** Tar archives for the archive tests, made with tar-stream (the library the server itself uses). */
import { gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { Headers } from 'tar-stream';

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
  readonly linkname: string | null;
  readonly body: string;
}

export async function entriesOf(tar: Uint8Array): Promise<ReadEntry[]> {
  const reader = extract();
  const entries: ReadEntry[] = [];
  reader.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      entries.push({
        name: header.name,
        type: header.type ?? 'file',
        mode: header.mode ?? 0,
        linkname: header.linkname ?? null,
        body: Buffer.concat(chunks).toString(),
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
