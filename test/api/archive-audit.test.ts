/**
 * What the audit log says about a tree copied out: a digest of the tree as it was sent (each entry's
 * kind, mode, mtime, size, content hash and name), so the same tree gives the same digest, a changed
 * file another, and a file redacted on the way out is recorded as the redacted bytes that left.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { driverAvailability } from '../support/drivers.ts';
import { airlocksFor, entriesOf, tarOf } from './archive-support.ts';

const bwrapMissing = (await driverAvailability()).find((driver) => driver.name === 'bwrap')?.unavailable;

const open = airlocksFor('archive-audit');

describe.skipIf(bwrapMissing !== undefined)('the audit record of a copy out', () => {
  it('digests the tree as sent: same tree, same digest; a changed or redacted file changes it', async () => {
    const airlock = await open('bwrap');
    const session = await airlock.sessions.create({ policy: 'permissive' });
    await session.files.putArchive(
      '/workspace',
      await tarOf([
        { name: 'src/a.ts', body: 'export const a = 1;\n', mtime: new Date(1_700_000_000_000) },
        { name: 'notes.txt', body: 'plain\n', mtime: new Date(1_700_000_000_000) },
      ]),
      { operator: true },
    );
    const digests = async (): Promise<string[]> =>
      (await airlock.audit.list({ sessionId: session.id, types: ['file.archive_read'] })).map(
        (event) => (event.data as { sha256: string }).sha256,
      );
    const first = await session.files.getArchive('/workspace');
    const second = await session.files.getArchive('/workspace');
    expect(second.tar.equals(first.tar)).toBe(true);
    let recorded = await digests();
    expect(recorded).toHaveLength(2);
    expect(recorded[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(recorded[1]).toBe(recorded[0]);

    // The same length, another content: the digest follows the bytes, not only names and sizes.
    await session.run(
      "printf 'export const a = 2;\\n' > /workspace/src/a.ts && touch -d @1700000000 /workspace/src/a.ts",
    );
    await session.files.getArchive('/workspace');
    recorded = await digests();
    expect(recorded[2]).not.toBe(recorded[1]);

    // A token written into a file leaves redacted: what was sent is what the digest stands for.
    const token = `ghp_${'A1b2C3d4E5'.repeat(4).slice(0, 36)}`;
    await session.run(
      `printf 'token=${token}\\n' > /workspace/notes.txt && touch -d @1700000000 /workspace/notes.txt`,
    );
    const redacted = await session.files.getArchive('/workspace');
    const sent = (await entriesOf(redacted.tar)).find((entry) => entry.name === 'notes.txt');
    expect(sent?.body).not.toContain(token);
    expect(sent?.body).toContain('[REDACTED');
    recorded = await digests();
    const hashOf = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
    // Rebuilt from what arrived, entry by entry, the manifest gives the recorded digest.
    const manifest = (await entriesOf(redacted.tar))
      .filter((entry) => entry.type !== 'pax-global-header')
      .map((entry) => {
        const isFile = entry.type === 'file';
        const mtime = Math.floor(entry.mtime.getTime() / 1000);
        const name = entry.type === 'directory' ? entry.name.replace(/\/$/, '') : entry.name;
        return `${entry.type} ${entry.mode.toString(8)} ${mtime} ${isFile ? entry.bytes.length : 0} ${isFile ? hashOf(entry.bytes) : '-'} ${JSON.stringify(name)}\n`;
      })
      .join('');
    expect(recorded[3]).toBe(createHash('sha256').update(manifest).digest('hex'));
  });
});
