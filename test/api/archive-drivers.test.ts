/**
 * Trees in and out of a session on every driver: a repository of a few thousand files in and back,
 * each export check leaving out what it must, each hostile archive refused whole with nothing
 * written, secret-looking files redacted (or refused), and changes as a patch `git apply` takes.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Airlock } from '../../src/index.ts';
import { rejectedAirlockError } from '../support/airlock-errors.ts';
import { driverAvailability } from '../support/drivers.ts';
import { pack } from 'tar-stream';
import { airlocksFor, entriesOf, repository, tarOf } from './archive-support.ts';
import type { TarEntry } from './archive-support.ts';

const drivers = await driverAvailability();
const bwrapMissing = drivers.find((driver) => driver.name === 'bwrap')?.unavailable;

const open = airlocksFor('archive-test');

const count = async (
  session: Awaited<ReturnType<Airlock['sessions']['create']>>,
  what: string,
): Promise<string> => (await session.run(what)).stdout.trim();

const hostile: Array<{ name: string; entries: TarEntry[]; reason: string }> = [
  { name: 'an absolute name', entries: [{ name: '/etc/evil', body: 'x' }], reason: 'path' },
  { name: 'a name going up', entries: [{ name: 'a/../../evil', body: 'x' }], reason: 'path' },
  {
    name: 'a symlink then a write through it',
    entries: [
      { name: 'out', type: 'symlink', linkname: '/tmp' },
      { name: 'out/evil', body: 'x' },
    ],
    reason: 'link',
  },
  {
    name: 'a hard link',
    entries: [
      { name: 'a', body: 'x' },
      { name: 'b', type: 'link', linkname: '/etc/passwd' },
    ],
    reason: 'link',
  },
  {
    name: 'a device',
    entries: [{ name: 'null', type: 'character-device', devmajor: 1, devminor: 3 }],
    reason: 'special_file',
  },
  { name: 'a FIFO', entries: [{ name: 'pipe', type: 'fifo' }], reason: 'special_file' },
  {
    name: 'a file under a file',
    entries: [
      { name: 'a', body: 'x' },
      { name: 'a/b', body: 'y' },
    ],
    reason: 'conflict',
  },
  {
    name: 'a name twice',
    entries: [
      { name: 'a', body: 'x' },
      { name: './a', body: 'y' },
    ],
    reason: 'duplicate',
  },
];

for (const driver of drivers) {
  describe.skipIf(driver.unavailable !== undefined)(`archives on ${driver.name}`, () => {
    it('copies a repository of 3000 files in (gzip) and out again, whole', { timeout: 180_000 }, async () => {
      const airlock = await open(driver.name);
      const session = await airlock.sessions.create({ policy: 'permissive' });
      const entries = repository(3000);
      const result = await session.files.putArchive('/workspace/repo', await tarOf(entries, { gzip: true }));
      expect(result).toMatchObject({ status: 'completed', files: 3000, secretFiles: [] });
      expect(await count(session, 'find /workspace/repo -type f | wc -l')).toBe('3000');
      expect(await count(session, 'cat /workspace/repo/src/pkg7/mod0/file7.ts')).toBe('export const v7 = 7;');
      const out = await session.files.getArchive('/workspace/repo');
      expect(out.files).toBe(3000);
      expect(out.leftOut).toEqual([]);
      const files = (await entriesOf(out.tar)).filter((entry) => entry.type === 'file');
      expect(files.length).toBe(3000);
      expect(files.find((entry) => entry.name === 'src/pkg7/mod0/file7.ts')?.body).toBe(
        'export const v7 = 7;\n',
      );
    });

    it(
      'leaves out links out of the tree, FIFOs, setuid files and changed protected paths, with a note each',
      { timeout: 120_000 },
      async () => {
        const airlock = await open(driver.name);
        const session = await airlock.sessions.create({ policy: 'permissive' });
        await session.files.putArchive(
          '/workspace',
          await tarOf([
            { name: 'src/a.txt', body: 'a\n' },
            { name: '.github/workflows/ci.yml', body: 'on: push\n' },
          ]),
        );
        // One step at a time: a sandbox may refuse one (mkfifo under a seccomp filter) and not the rest.
        await session.run(
          'ln -s /etc/passwd passwd-link; ln -s src/a.txt inside-link; ln -s ../../etc up-link; mkfifo pipe; ' +
            'echo s > setuid; chmod 4755 setuid; echo x > .github/workflows/new.yml; mkdir -p .git/hooks; ' +
            'echo evil > .git/hooks/pre-commit; ln src/a.txt hard; echo kept > kept.txt',
        );
        const fifoMade = (await count(session, 'test -p pipe && echo yes')) === 'yes';
        const setuidTook = (await count(session, 'stat -c %a setuid')) === '4755';
        const out = await session.files.getArchive('/workspace');
        const names = (await entriesOf(out.tar)).map((entry) => entry.name).sort();
        const left = Object.fromEntries(out.leftOut.map((note) => [note.path, note.why]));
        expect(left['passwd-link']).toMatch(/outside the exported tree/);
        expect(left['up-link']).toMatch(/outside the exported tree/);
        if (fifoMade) expect(left['pipe']).toMatch(/FIFO/);
        expect(left['.github/workflows/new.yml']).toMatch(/protected path/);
        expect(left['.git/hooks/pre-commit']).toMatch(/git hooks/);
        if (setuidTook) expect(left['setuid']).toMatch(/setuid/);
        for (const gone of [
          'passwd-link',
          'up-link',
          'pipe',
          '.github/workflows/new.yml',
          '.git/hooks/pre-commit',
          'setuid',
        ])
          expect(names).not.toContain(gone);
        // What passes goes out: the unchanged workflow copied in, a link inside the tree, the rest.
        expect(names).toEqual(
          expect.arrayContaining(['kept.txt', 'inside-link', 'src/a.txt', '.github/workflows/ci.yml']),
        );
      },
    );

    it('refuses each hostile archive whole, and writes nothing', { timeout: 120_000 }, async () => {
      expect(hostile.length).toBeGreaterThan(0);
      const airlock = await open(driver.name, {
        router: { approvalRequiredFor: [], archive: { maxEntries: 50, maxBytes: '1m' } },
      });
      const session = await airlock.sessions.create({ policy: 'permissive' });
      for (const archive of hostile) {
        const error = await rejectedAirlockError(
          session.files.putArchive('/workspace/in', await tarOf(archive.entries)),
        );
        expect(error.code, archive.name).toBe('UNSAFE_ARCHIVE');
        expect(error.details['reason'], archive.name).toBe(archive.reason);
      }
      const tooMany = await rejectedAirlockError(
        session.files.putArchive('/workspace/in', await tarOf(repository(51))),
      );
      expect(tooMany.details['reason']).toBe('too_many_entries');
      const bomb = await tarOf([{ name: 'zeros', body: Buffer.alloc(8 * 1024 * 1024) }], { gzip: true });
      expect(bomb.length).toBeLessThan(64 * 1024);
      expect(
        (await rejectedAirlockError(session.files.putArchive('/workspace/in', bomb))).details['reason'],
      ).toBe('too_large');
      const garbage = await rejectedAirlockError(
        session.files.putArchive('/workspace/in', Buffer.from('not a tar at all'.repeat(64))),
      );
      expect(garbage.code).toBe('UNSAFE_ARCHIVE');
      expect(await count(session, 'ls -A /workspace | wc -l')).toBe('0');
      // No staging copy left behind either.
      expect(await count(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
    });

    it(
      'reports secret-looking files and redacts their values from every output',
      { timeout: 60_000 },
      async () => {
        const airlock = await open(driver.name);
        const session = await airlock.sessions.create({ policy: 'permissive' });
        const secret = 'postgres-password-7f3a9c2e1b';
        const result = await session.files.putArchive(
          '/workspace',
          await tarOf([
            { name: '.env', body: `DB_PASSWORD=${secret}\n` },
            { name: 'app.js', body: 'x\n' },
          ]),
        );
        expect(result.secretFiles).toEqual(['.env']);
        const shown = await session.run('cat .env');
        expect(shown.stdout).not.toContain(secret);
        expect(shown.stdout).toMatch(/DB_PASSWORD=\[REDACTED/);
      },
    );
  });
}

describe.skipIf(bwrapMissing !== undefined)('archives: policy and changes', () => {
  it('refuses secret-looking files whole when sandbox.refuseSecretsInWorkspace is set', async () => {
    const airlock = await open('bwrap', { sandbox: { refuseSecretsInWorkspace: true } });
    const session = await airlock.sessions.create({ policy: 'permissive' });
    const error = await rejectedAirlockError(
      session.files.putArchive(
        '/workspace',
        await tarOf([
          { name: 'ok.txt', body: 'x' },
          { name: 'deploy/id_ed25519', body: 'key-material-0123456789' },
        ]),
      ),
    );
    expect(error.code).toBe('UNSAFE_ARCHIVE');
    expect(error.details['reason']).toBe('secret');
    expect(await count(session, 'ls -A /workspace | wc -l')).toBe('0');
  });

  it('asks a person before copying in when approvalRequiredFor lists write_file, and copies nothing when denied', async () => {
    const airlock = await open('bwrap', {
      router: { approvalRequiredFor: ['write_file'], approvalTimeout: '1s' },
    });
    const session = await airlock.sessions.create({ policy: 'permissive' });
    const result = await session.files.putArchive('/workspace', await tarOf([{ name: 'a.txt', body: 'x' }]));
    expect(result.status).toBe('denied');
    expect(await count(session, 'ls -A /workspace | wc -l')).toBe('0');
    // The staged copy waiting for the answer is gone too.
    expect(await count(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
  });

  it('stages a large archive in parts: refused after parts were staged it leaves nothing, whole it lands byte for byte', async () => {
    const airlock = await open('bwrap');
    const session = await airlock.sessions.create({ policy: 'permissive' });
    // 12 MiB of random bytes: several staged parts before the last entry is even read.
    const files = Array.from({ length: 12 }, (_, index) => ({
      name: `big/f${index}.bin`,
      body: randomBytes(1024 * 1024 + index * 7),
    }));
    const lateLink: TarEntry = { name: 'late', type: 'symlink', linkname: '/etc' };
    const refused = await rejectedAirlockError(
      session.files.putArchive('/workspace', await tarOf([...files, lateLink])),
    );
    expect([refused.code, refused.details['reason']]).toEqual(['UNSAFE_ARCHIVE', 'link']);
    expect(await count(session, 'ls -A /workspace | wc -l')).toBe('0');
    expect(await count(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
    // Arriving in odd-sized chunks, as an upload does: entries straddle chunks and parts.
    const tar = await tarOf(files);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let at = 0; at < tar.length; at += 65_537) yield tar.subarray(at, at + 65_537);
    }
    const result = await session.files.putArchive('/workspace', chunks());
    expect([result.status, result.files, result.bytes]).toEqual([
      'completed',
      files.length,
      files.reduce((sum, file) => sum + file.body.length, 0),
    ]);
    const expected = files
      .map((file) => `${createHash('sha256').update(file.body).digest('hex')}  ${file.name}`)
      .sort()
      .join('\n');
    expect((await session.run('cd /workspace && sha256sum big/* | sort')).stdout.trim()).toBe(expected);
    expect(await count(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
  });

  it('reads an archive as it arrives: an entry over the limit is refused at its header, the rest never read', async () => {
    const airlock = await open('bwrap', { router: { approvalRequiredFor: [], archive: { maxBytes: '8m' } } });
    const session = await airlock.sessions.create({ policy: 'permissive' });
    // A small file, then the header of a 1 GiB one, then zeros for as long as anyone reads.
    const head = pack();
    head.entry({ name: 'a.txt' }, 'x');
    head.entry({ name: 'big.bin', size: 1024 * 1024 * 1024 });
    const start = head.read() as Buffer;
    let pulled = 0;
    async function* endless(): AsyncGenerator<Uint8Array> {
      pulled += start.length;
      yield start;
      for (;;) {
        pulled += 64 * 1024;
        yield Buffer.alloc(64 * 1024);
      }
    }
    const error = await rejectedAirlockError(session.files.putArchive('/workspace', endless()));
    expect([error.code, error.details['reason']]).toEqual(['UNSAFE_ARCHIVE', 'too_large']);
    expect(pulled).toBeLessThan(1024 * 1024);
    expect(await count(session, 'ls -A /workspace | wc -l')).toBe('0');
    expect(await count(session, 'ls -A /tmp | grep -c airlock-archive || true')).toBe('0');
  });

  it('judges every path like a write: one the policy refuses (agent configuration) refuses the archive whole', async () => {
    const airlock = await open('bwrap');
    const session = await airlock.sessions.create({ policy: 'coding-agent' });
    const result = await session.files.putArchive(
      '/workspace',
      await tarOf([
        { name: 'src/ok.ts', body: 'x' },
        { name: '.claude/settings.json', body: '{"permissions":{"allow":["Bash(*)"]}}' },
      ]),
    );
    expect(result.status).toBe('denied');
    expect(result.reasons.join(' ')).toMatch(/\.claude\/settings\.json/);
    expect(result.approvalId).toBeNull();
    expect((await session.files.list('/workspace')).length).toBe(0);
    // The person running Airlock copying their own project in is not judged.
    const own = await session.files.putArchive(
      '/workspace',
      await tarOf([{ name: '.claude/settings.json', body: '{}' }]),
      {
        operator: true,
      },
    );
    expect(own.status).toBe('completed');
  });

  it('asks a person about changed protected paths when the copy out asks to: approved, they are in; denied, left out with the reason', async () => {
    const airlock = await open('bwrap', { router: { approvalRequiredFor: [], approvalTimeout: '30s' } });
    const session = await airlock.sessions.create({ policy: 'permissive' });
    await session.files.putArchive('/workspace', await tarOf([{ name: 'src/a.txt', body: 'a\n' }]));
    await session.run(
      'mkdir -p .github/workflows .git/hooks && echo "on: push" > .github/workflows/ci.yml && ' +
        'echo evil > .git/hooks/pre-commit && echo b > src/b.txt',
    );
    const decide = async (how: 'approve' | 'deny'): Promise<string> => {
      for (;;) {
        const [pending] = await airlock.approvals.list({ status: 'pending', sessionId: session.id });
        if (pending !== undefined) {
          await airlock.approvals[how](pending.id, { reason: `${how} in test` });
          return pending.subject;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };
    const [approved, subject] = await Promise.all([
      session.files.getArchive('/workspace', { protectedPaths: 'ask' }),
      decide('approve'),
    ]);
    expect(subject).toContain('/workspace/.github/workflows/ci.yml');
    // Git hooks are never asked about.
    expect(subject).not.toContain('pre-commit');
    const names = (await entriesOf(approved.tar)).map((entry) => entry.name);
    expect(names).toEqual(expect.arrayContaining(['.github/workflows/ci.yml', 'src/b.txt']));
    expect(names).not.toContain('.git/hooks/pre-commit');
    expect(approved.leftOut.map((note) => note.path)).toEqual(['.git/hooks/pre-commit']);

    const [denied] = await Promise.all([
      session.files.getArchive('/workspace', { protectedPaths: 'ask' }),
      decide('deny'),
    ]);
    expect((await entriesOf(denied.tar)).map((entry) => entry.name)).not.toContain(
      '.github/workflows/ci.yml',
    );
    expect(denied.leftOut.find((note) => note.path === '.github/workflows/ci.yml')?.why).toMatch(
      /protected path.*a person was asked: a person denied it: deny in test/,
    );
    // Without asking, nothing waits for a person: left out with a note, as before.
    const plain = await session.files.getArchive('/workspace');
    expect(plain.leftOut.map((note) => note.path).sort()).toEqual([
      '.git/hooks/pre-commit',
      '.github/workflows/ci.yml',
    ]);
    expect(await airlock.approvals.list({ status: 'pending', sessionId: session.id })).toEqual([]);
  });

  it("lists changes since a snapshot of the session (or the one it was made from), never since another session's", async () => {
    const airlock = await open('bwrap');
    const session = await airlock.sessions.create({ policy: 'permissive' });
    await session.run("mkdir -p src && printf 'one\\n' > src/a.txt && printf 'x\\n' > src/gone.txt");
    const snap = await session.snapshot('before');
    await session.run("printf 'ONE\\n' > src/a.txt && rm src/gone.txt && printf 'n\\n' > new.txt");
    const since = await session.changes({ since: snap.id });
    expect(since).toMatchObject({
      baseline: true,
      since: snap.id,
      added: ['new.txt'],
      changed: ['src/a.txt'],
      deleted: ['src/gone.txt'],
    });
    expect((await session.changes({ since: snap.id, patch: true })).patch).toContain('-one\n+ONE');
    // A session made from the snapshot may compare with it too.
    const forked = await airlock.sessions.create({ policy: 'permissive', from: snap.id });
    await forked.run("printf 'forked\\n' >> src/a.txt");
    expect((await forked.changes({ since: snap.id })).changed).toEqual(['src/a.txt']);
    // Another session may not (adversarial: its files are not this session's to see).
    const other = await airlock.sessions.create({ policy: 'permissive' });
    const refused = await rejectedAirlockError(other.changes({ since: snap.id }));
    expect(refused.code).toBe('NOT_FOUND');
  });

  it(
    'lists changes since the copy in, and gives a patch git apply takes on the host',
    { timeout: 60_000 },
    async () => {
      const airlock = await open('bwrap');
      const session = await airlock.sessions.create({ policy: 'permissive' });
      const original = [
        { name: 'src/a.txt', body: 'one\ntwo\nthree\n' },
        { name: 'src/gone.txt', body: 'bye\n' },
        { name: 'same.txt', body: 'same\n' },
      ];
      await session.files.putArchive('/workspace', await tarOf(original));
      await session.run("sed -i 's/two/TWO/' src/a.txt && rm src/gone.txt && printf 'new\\n' > src/new.txt");
      const changes = await session.changes();
      expect(changes).toMatchObject({
        baseline: true,
        added: ['src/new.txt'],
        changed: ['src/a.txt'],
        deleted: ['src/gone.txt'],
      });
      const { patch } = await session.changes({ patch: true });
      const dir = mkdtempSync(join(tmpdir(), 'airlock-patch-'));
      try {
        for (const file of original) {
          mkdirSync(join(dir, dirname(file.name)), { recursive: true });
          writeFileSync(join(dir, file.name), file.body);
        }
        writeFileSync(join(dir, 'changes.patch'), patch ?? '');
        const applied = spawnSync('git', ['apply', '--verbose', 'changes.patch'], {
          cwd: dir,
          encoding: 'utf8',
        });
        expect(applied.stderr).not.toMatch(/error/);
        expect(applied.status).toBe(0);
        expect(readFileSync(join(dir, 'src/a.txt'), 'utf8')).toBe('one\nTWO\nthree\n');
        expect(readFileSync(join(dir, 'src/new.txt'), 'utf8')).toBe('new\n');
        expect(existsSync(join(dir, 'src/gone.txt'))).toBe(false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
