/**
 * A large tree copied in on every driver: staged in parts (each unpacked inside the destination while
 * the rest is checked) and moved into place only once all of it passed. It lands whole and identical
 * (contents, modes, mtimes, directories' too), merges into a destination that holds some of its
 * names as tar would, and a copy refused or denied after parts were staged leaves the destination as
 * it was, with nothing staged left behind; /tmp needs only a few parts, not the whole archive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Session } from '../../src/index.ts';
import { rejectedAirlockError } from '../support/airlock-errors.ts';
import { driverAvailability } from '../support/drivers.ts';
import { airlocksFor, tarOf } from './archive-support.ts';
import type { TarEntry } from './archive-support.ts';

const drivers = await driverAvailability();

const open = airlocksFor('staged-test');

const run = async (session: Session, command: string): Promise<string> => {
  const result = await session.run(command);
  expect(result.exitCode, `${command}: ${result.stderr}`).toBe(0);
  return result.stdout.trim();
};

const FILES = 3000;
const at = (seconds: number): Date => new Date(seconds * 1000);

/**
 * About 15 MiB in 3000 files under `t/`, each directory receiving files all along the archive (so in
 * every part), with their own modes and mtimes.
 */
function bigTree(): TarEntry[] {
  const entries: TarEntry[] = [{ name: 't', type: 'directory', mode: 0o755, mtime: at(1_500_000_000) }];
  for (let d = 0; d < 20; d += 1) {
    entries.push({
      name: `t/d${d}`,
      type: 'directory',
      mode: d % 2 === 0 ? 0o750 : 0o755,
      mtime: at(1_500_001_000 + d),
    });
    for (let s = 0; s < 5; s += 1)
      entries.push({
        name: `t/d${d}/s${s}`,
        type: 'directory',
        mode: s === 0 ? 0o700 : 0o755,
        mtime: at(1_500_002_000 + d * 10 + s),
      });
  }
  for (let index = 0; index < FILES; index += 1) {
    entries.push({
      name: `t/d${index % 20}/s${Math.floor(index / 20) % 5}/f${index}.bin`,
      body: randomBytes(5000 + (index % 100)),
      mode: [0o644, 0o755, 0o640, 0o600][index % 4],
      mtime: at(1_600_000_000 + index),
    });
  }
  return entries;
}

/** What `listing` prints for the entries: kind, permission bits, mtime, name (under `./`). */
function expectedListing(entries: readonly TarEntry[]): string[] {
  return entries
    .map(
      (entry) =>
        `${entry.type === 'directory' ? 'd' : 'f'} ${(entry.mode ?? 0).toString(8)} ${Math.floor((entry.mtime as Date).getTime() / 1000)} ./${entry.name}`,
    )
    .sort();
}

const listing = (dir: string): string =>
  `cd ${dir} && find . -mindepth 1 -exec stat -c '%F %a %Y %n' {} + | sed -e 's/^directory /d /' -e 's/^regular file /f /' | sort`;

const expectedSums = (entries: readonly TarEntry[]): string =>
  entries
    .filter((entry) => entry.type !== 'directory')
    .map(
      (entry) =>
        `${createHash('sha256')
          .update(entry.body as Buffer)
          .digest('hex')}  ./${entry.name}`,
    )
    .sort()
    .join('\n');

const sums = (dir: string): string => `cd ${dir} && find . -type f -exec sha256sum {} + | sort`;

/** A long output, through a file: a command's output is cut past a few KiB. */
async function long(session: Session, command: string): Promise<string> {
  await run(session, `(${command}) > /tmp/long-output.txt`);
  return Buffer.from(await session.files.read('/tmp/long-output.txt'))
    .toString()
    .trim();
}

/** Nothing staged left: no staging directory anywhere in /workspace, no parts in /tmp. */
async function expectNothingStaged(session: Session): Promise<void> {
  expect(await run(session, "find /workspace -name '.airlock-incoming-*' | wc -l")).toBe('0');
  expect(await run(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
}

/**
 * The tar of `entries`, then (once the sandbox has unpacked several parts into its staging directory)
 * `last`: a refusal at `last` comes after parts were staged. `staged` says whether they were seen.
 */
function stagedThen(
  session: Session,
  dir: string,
  entries: readonly TarEntry[],
  last: readonly TarEntry[],
): { body: AsyncIterable<Uint8Array>; staged: () => number } {
  let seen = 0;
  async function* body(): AsyncGenerator<Uint8Array> {
    const head = await tarOf(entries);
    // Without its end marker (two zero blocks): the entries of `last` follow.
    yield head.subarray(0, head.length - 1024);
    for (let tries = 0; tries < 300 && seen < 1500; tries += 1) {
      const counted = await session.run(
        `find ${dir} -path '*/.airlock-incoming-*' -type f 2>/dev/null | wc -l`,
      );
      seen = Number(counted.stdout.trim());
      if (seen < 1500) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    yield await tarOf(last);
  }
  return { body: body(), staged: () => seen };
}

const lateLink: TarEntry = { name: 'late', type: 'symlink', linkname: '/etc' };

for (const driver of drivers) {
  describe.skipIf(driver.unavailable !== undefined)(`archives staged in parts on ${driver.name}`, () => {
    it(
      'copies a tree of many parts in whole and identical, and merges into a destination as tar does',
      { timeout: 300_000 },
      async () => {
        const airlock = await open(driver.name);
        const session = await airlock.sessions.create({ policy: 'permissive' });
        const entries = bigTree();
        const tar = await tarOf(entries);
        expect(tar.length).toBeGreaterThan(12 * 1024 * 1024);
        const result = await session.files.putArchive('/workspace/a', tar);
        expect([result.status, result.files]).toEqual(['completed', FILES]);
        expect((await long(session, listing('/workspace/a'))).split('\n')).toEqual(expectedListing(entries));
        expect(await long(session, sums('/workspace/a'))).toBe(expectedSums(entries));
        await expectNothingStaged(session);

        // A destination holding some of the same names: files replaced, the rest kept.
        await run(
          session,
          'mkdir -p /workspace/m/t/d0/s0 && echo old > /workspace/m/t/d0/s0/f0.bin && ' +
            'echo keep > /workspace/m/t/d0/keep.txt && echo top > /workspace/m/top.txt',
        );
        const merged = await session.files.putArchive('/workspace/m', tar);
        expect(merged.status).toBe('completed');
        const kept = ['./t/d0/keep.txt', './top.txt'];
        const lines = (await long(session, listing('/workspace/m'))).split('\n');
        expect(lines.filter((line) => !kept.some((name) => line.endsWith(` ${name}`)))).toEqual(
          expectedListing(entries),
        );
        expect(await run(session, 'cat /workspace/m/t/d0/keep.txt /workspace/m/top.txt')).toBe('keep\ntop');
        expect(await long(session, `${sums('/workspace/m')} | grep -v -e keep.txt -e top.txt`)).toBe(
          expectedSums(entries),
        );
        await expectNothingStaged(session);
      },
    );

    it(
      'refused after parts were staged, leaves the destination as it was (or absent) and nothing staged',
      { timeout: 300_000 },
      async () => {
        const airlock = await open(driver.name);
        const session = await airlock.sessions.create({ policy: 'permissive' });
        const entries = bigTree();
        await run(
          session,
          'mkdir -p /workspace/r/t/d1 && echo a > /workspace/r/a.txt && echo b > /workspace/r/t/d1/b.txt && touch -d @1400000000 /workspace/r /workspace/r/t /workspace/r/t/d1',
        );
        const before = await long(session, listing('/workspace'));
        const existing = stagedThen(session, '/workspace/r', entries, [lateLink]);
        const refused = await rejectedAirlockError(session.files.putArchive('/workspace/r', existing.body));
        expect([refused.code, refused.details['reason']]).toEqual(['UNSAFE_ARCHIVE', 'link']);
        expect(existing.staged()).toBeGreaterThanOrEqual(1500);
        expect(await long(session, listing('/workspace'))).toBe(before);
        await expectNothingStaged(session);

        const fresh = stagedThen(session, '/workspace/new/deeper', entries, [lateLink]);
        await rejectedAirlockError(session.files.putArchive('/workspace/new/deeper', fresh.body));
        expect(fresh.staged()).toBeGreaterThanOrEqual(1500);
        expect(await run(session, 'test -e /workspace/new && echo there || echo absent')).toBe('absent');
        expect(await long(session, listing('/workspace'))).toBe(before);
        await expectNothingStaged(session);
      },
    );

    it('denied by a person after parts were staged, writes nothing', { timeout: 300_000 }, async () => {
      const airlock = await open(driver.name, {
        router: { approvalRequiredFor: ['write_file'], approvalTimeout: '1s' },
      });
      const session = await airlock.sessions.create({ policy: 'permissive' });
      const result = await session.files.putArchive('/workspace/d', await tarOf(bigTree()));
      expect(result.status).toBe('denied');
      expect(await run(session, 'ls -A /workspace | wc -l')).toBe('0');
      await expectNothingStaged(session);
    });

    it(
      'needs room in /tmp for a few parts, not the whole archive; a tree too large for its destination is refused cleanly',
      { timeout: 300_000 },
      async () => {
        const airlock = await open(driver.name, { sandbox: { scratch: '32m' } });
        const session = await airlock.sessions.create({ policy: 'permissive' });
        // /tmp has 20 MiB left: less than the archive, more than a few parts.
        await run(session, 'head -c 12582912 /dev/zero > /tmp/filler');
        const entries = Array.from({ length: 24 }, (_, index) => ({
          name: `big/f${index}.bin`,
          body: randomBytes(1024 * 1024),
        }));
        const result = await session.files.putArchive('/workspace', await tarOf(entries));
        expect(result.status).toBe('completed');
        expect(await run(session, 'cd /workspace && sha256sum big/* | sort')).toBe(
          entries
            .map((file) => `${createHash('sha256').update(file.body).digest('hex')}  ${file.name}`)
            .sort()
            .join('\n'),
        );
        await expectNothingStaged(session);
        // More than /workspace holds: refused by the sandbox's tar as it fills, nothing left behind.
        const tooLarge = Array.from({ length: 12 }, (_, index) => ({
          name: `more/f${index}.bin`,
          body: randomBytes(1024 * 1024),
        }));
        const error = await rejectedAirlockError(
          session.files.putArchive('/workspace/x', await tarOf(tooLarge)),
        );
        expect(error.code).toBe('SANDBOX_REQUEST_FAILED');
        expect(error.message).toMatch(/could not unpack into \/workspace\/x/);
        expect(await run(session, 'ls -A /workspace')).toBe('big');
        await expectNothingStaged(session);
      },
    );
  });
}

describe.skipIf(drivers.find((driver) => driver.name === 'bwrap')?.unavailable !== undefined)(
  'archives staged in parts: many directories',
  () => {
    it(
      'sets the modes and mtimes of more directories than one batch of their headers holds',
      { timeout: 300_000 },
      async () => {
        const airlock = await open('bwrap');
        const session = await airlock.sessions.create({ policy: 'permissive' });
        // 2500 directories: their headers (over 1 MiB) go to the sandbox in batches while the parts
        // are staged; each also gets a file, so later parts change earlier directories' mtimes.
        const entries: TarEntry[] = [];
        for (let index = 0; index < 2500; index += 1) {
          entries.push({
            name: `g${index % 50}/d${index}`,
            type: 'directory',
            mode: index % 3 === 0 ? 0o750 : 0o755,
            mtime: at(1_400_000_000 + index),
          });
        }
        for (let group = 0; group < 50; group += 1)
          entries.unshift({
            name: `g${group}`,
            type: 'directory',
            mode: 0o755,
            mtime: at(1_300_000_000 + group),
          });
        for (let index = 0; index < 2500; index += 1)
          entries.push({
            name: `g${index % 50}/d${index}/f.bin`,
            body: randomBytes(4000),
            mode: 0o644,
            mtime: at(1_600_000_000 + index),
          });
        const result = await session.files.putArchive('/workspace/many', await tarOf(entries));
        expect([result.status, result.files]).toEqual(['completed', 2500]);
        expect((await long(session, listing('/workspace/many'))).split('\n')).toEqual(
          expectedListing(entries),
        );
        await expectNothingStaged(session);
      },
    );
  },
);
