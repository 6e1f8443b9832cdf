import { extract } from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { tarOf } from './shared-volume.ts';

interface Entry {
  name: string;
  mode: number | undefined;
  uid: number | undefined;
  data: string;
}

function entriesOf(tar: Buffer): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    const reader = extract();
    reader.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        entries.push({
          name: header.name,
          mode: header.mode,
          uid: header.uid,
          data: Buffer.concat(chunks).toString(),
        });
        next();
      });
    });
    reader.once('finish', () => resolve(entries));
    reader.once('error', reject);
    reader.end(tar);
  });
}

describe('tarOf', () => {
  it('packs the files with their modes, owned by root', async () => {
    const tar = await tarOf([
      { name: 'supervisor', data: Buffer.from('binary'), mode: 0o755 },
      { name: 'etc_passwd', data: Buffer.from('root:x:0:0::/:/bin/sh\n'), mode: 0o644 },
    ]);
    expect(await entriesOf(tar)).toEqual([
      // Mount points of a session's egress files: the volume is mounted read-only.
      { name: 'egress', mode: 0o755, uid: 0, data: '' },
      { name: 'egress-ca.pem', mode: 0o644, uid: 0, data: '' },
      { name: 'egress-ca-bundle.pem', mode: 0o644, uid: 0, data: '' },
      { name: 'supervisor', mode: 0o755, uid: 0, data: 'binary' },
      { name: 'etc_passwd', mode: 0o644, uid: 0, data: 'root:x:0:0::/:/bin/sh\n' },
    ]);
  });

  it('refuses a name that would place a file outside the volume (adversarial)', async () => {
    for (const name of ['../etc/passwd', 'a/b', '', '..', '.hidden']) {
      await expect(tarOf([{ name, data: Buffer.from(''), mode: 0o644 }]), name).rejects.toThrow(RangeError);
    }
  });
});
