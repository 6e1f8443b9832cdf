/**
 * Archives, changes and the rest of the files API over HTTP with the SDK, against a real server on
 * 127.0.0.1 (bwrap): good input does what it says, hostile input gets one clear error and changes nothing.
 */
import { describe, expect, it } from 'vitest';
import {
  createReadStream,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirlockApiError, AirlockClient } from '../../src/sdk/index.ts';
import { downloadDirectory, uploadDirectory } from '../../src/sdk-node/index.ts';
import { spawnSync } from 'node:child_process';
import { entriesOf, repository, tarOf } from './archive-support.ts';
import { startServer } from './sdk-support.ts';

const bwrapMissing = spawnSync('bwrap', ['--version']).status !== 0;

async function failure(promise: Promise<unknown>): Promise<AirlockApiError> {
  const outcome = await promise.then(
    (value: unknown) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!('error' in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  if (!(outcome.error instanceof AirlockApiError)) throw outcome.error;
  return outcome.error;
}

describe.skipIf(bwrapMissing)('archives over HTTP', () => {
  it(
    'uploads with the session token, downloads with notes, and lists changes and a patch',
    { timeout: 60_000 },
    async () => {
      const { url, admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
      const created = await admin.sessions.create({ policy: 'permissive' });
      // The session's own token reaches its archive routes, as an agent's would.
      const agent = await new AirlockClient({ url, token: created.token ?? '' }).sessions.connect(created.id);
      const uploaded = await agent.files.upload(await tarOf(repository(200), { gzip: true }), '/workspace');
      expect(uploaded).toMatchObject({ status: 'completed', files: 200 });
      await agent.run(
        'echo changed >> src/pkg0/mod0/file0.ts && ln -s /etc/shadow shadow && echo n > new.txt',
      );
      const down = await agent.files.download('/workspace');
      expect(down.files).toBe(201);
      expect(down.leftOut).toEqual([
        { path: 'shadow', why: expect.stringMatching(/outside the exported tree/) as unknown },
      ]);
      expect((await entriesOf(down.tar)).some((entry) => entry.name === 'new.txt')).toBe(true);
      expect(await agent.files.changes()).toMatchObject({
        baseline: true,
        added: ['new.txt'],
        changed: ['src/pkg0/mod0/file0.ts'],
        deleted: [],
      });
      expect(await agent.files.patch()).toContain('+changed');
    },
  );

  it('refuses a hostile archive with UNSAFE_ARCHIVE (400) and a path out of the sandbox with PATH_OUTSIDE_SANDBOX', async () => {
    const { admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
    const session = await admin.sessions.create({ policy: 'permissive' });
    const bad = await failure(
      session.files.upload(await tarOf([{ name: '../../etc/cron.d/x', body: 'x' }]), '/workspace'),
    );
    expect([bad.code, bad.status]).toEqual(['UNSAFE_ARCHIVE', 400]);
    const out = await failure(session.files.upload(await tarOf([{ name: 'a', body: 'x' }]), '/etc'));
    expect(out.code).toBe('PATH_OUTSIDE_SANDBOX');
    expect((await failure(session.files.download('/workspace/../../etc'))).code).toBe('PATH_OUTSIDE_SANDBOX');
    expect((await failure(session.files.download('/workspace/missing'))).code).toBe('NOT_FOUND');
    expect((await session.run('ls -A /workspace | wc -l')).stdout.trim()).toBe('0');
  });
});

describe.skipIf(bwrapMissing)('archives over HTTP: streamed', () => {
  it('reads an upload as it arrives (a bad entry ends an endless body at once) and sends a download with its length', async () => {
    const { url, adminToken, admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
    const session = await admin.sessions.create({ policy: 'permissive' });
    const start = await tarOf([{ name: '../escape', body: 'x' }]);
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        controller.enqueue(pulled === 0 ? start : new Uint8Array(64 * 1024));
        pulled += 1;
      },
    });
    const response = await fetch(`${url}/v1/sessions/${session.id}/archive?path=/workspace`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/octet-stream' },
      body,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('UNSAFE_ARCHIVE');
    // The server answered without reading the body to its (endless) end.
    expect(pulled).toBeLessThan(1000);
    await body.cancel().catch(() => undefined);
    await session.files.upload(await tarOf(repository(20)), '/workspace');
    const down = await fetch(`${url}/v1/sessions/${session.id}/archive?path=/workspace`, {
      headers: { authorization: `Bearer ${adminToken}` },
    });
    const tar = new Uint8Array(await down.arrayBuffer());
    expect(Number(down.headers.get('content-length'))).toBe(tar.length);
    expect((await entriesOf(tar)).filter((entry) => entry.type === 'file').length).toBe(20);
    // Asking about protected paths when there are none asks nobody; an unknown option is refused.
    expect((await session.files.download('/workspace', { protectedPaths: 'ask' })).files).toBe(20);
    const unknown = await failure(
      session.files.download('/workspace', { protected: 'ask' } as unknown as { protectedPaths: 'ask' }),
    );
    expect(unknown.code).toBe('INVALID_ARGUMENT');
    // Changes since a snapshot: a malformed id is refused, an unknown one is not found.
    expect((await failure(session.files.changes({ since: '../../etc' }))).code).toBe('INVALID_ARGUMENT');
    expect((await failure(session.files.patch({ since: `snap_${'0'.repeat(24)}` }))).code).toBe('NOT_FOUND');
  });
});

describe.skipIf(bwrapMissing)('archives over HTTP: local directories (sdk/node)', () => {
  it('uploads a local directory (symlinks stay here) and downloads into one (never outside it)', async () => {
    const { admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
    const session = await admin.sessions.create({ policy: 'permissive' });
    const local = mkdtempSync(join(tmpdir(), 'airlock-sdk-node-'));
    try {
      mkdirSync(join(local, 'src', 'deep'), { recursive: true });
      writeFileSync(join(local, 'src', 'a.ts'), 'export const a = 1;\n');
      writeFileSync(join(local, 'src', 'deep', 'b.ts'), 'export const b = 2;\n');
      mkdirSync(join(local, 'node_modules'));
      writeFileSync(join(local, 'node_modules', 'x.js'), 'skip me');
      symlinkSync('/etc/passwd', join(local, 'passwd-link'));
      const up = await uploadDirectory(session.files, local, '/workspace/p', {
        skip: (rel) => rel.startsWith('node_modules/'),
      });
      expect(up).toMatchObject({ status: 'completed', files: 2 });
      expect(up.leftOutLocally.map((note) => note.path)).toEqual(['passwd-link']);
      await session.run(
        'cd /workspace/p && echo c > src/c.ts && ln -s /etc/shadow shadow && ln -s src/a.ts inside',
      );
      const back = join(local, 'back');
      const down = await downloadDirectory(session.files, '/workspace/p', back);
      expect([...down.written].sort()).toEqual(['src/a.ts', 'src/c.ts', 'src/deep/b.ts']);
      expect(down.leftOut.map((note) => note.path)).toEqual(['shadow']);
      expect(readFileSync(join(back, 'src', 'deep', 'b.ts'), 'utf8')).toBe('export const b = 2;\n');
      expect(lstatSync(join(back, 'inside')).isSymbolicLink()).toBe(true);
      expect(existsSync(join(back, 'shadow'))).toBe(false);
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });
});

describe.skipIf(bwrapMissing)('archives over HTTP: streamed from the SDK', () => {
  it(
    'uploads from a Node stream and a web stream, refuses chunks that are not bytes, and downloads as a stream',
    { timeout: 60_000 },
    async () => {
      const { admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
      const session = await admin.sessions.create({ policy: 'permissive' });
      const local = mkdtempSync(join(tmpdir(), 'airlock-sdk-stream-'));
      try {
        const tarFile = join(local, 'project.tar');
        writeFileSync(tarFile, await tarOf(repository(30)));
        const fromNode = await session.files.upload(createReadStream(tarFile), '/workspace/a');
        expect(fromNode).toMatchObject({ status: 'completed', files: 30 });
        const bytes = await tarOf([{ name: 'web.txt', body: 'from a web stream\n' }]);
        const fromWeb = await session.files.upload(
          new ReadableStream<Uint8Array>({
            start(controller) {
              // Two chunks, split inside a header: the server reads it as it arrives.
              controller.enqueue(bytes.subarray(0, 100));
              controller.enqueue(bytes.subarray(100));
              controller.close();
            },
          }),
          '/workspace/b',
        );
        expect(fromWeb).toMatchObject({ status: 'completed', files: 1 });
        expect((await session.run('cat /workspace/b/web.txt')).stdout).toBe('from a web stream\n');
        const notBytes = await failure(
          session.files.upload(
            (async function* () {
              yield 'text is not an archive chunk' as unknown as Uint8Array;
            })(),
            '/workspace/c',
          ),
        );
        expect(notBytes.code).toBe('INVALID_ARGUMENT');
        expect(notBytes.message).toMatch(/Uint8Array chunks/);
        const down = await session.files.downloadStream('/workspace/a');
        expect(down.files).toBe(30);
        const chunks: Uint8Array[] = [];
        for await (const chunk of down.tar) chunks.push(chunk);
        const names = (await entriesOf(Buffer.concat(chunks))).filter((entry) => entry.type === 'file');
        expect(names).toHaveLength(30);
      } finally {
        rmSync(local, { recursive: true, force: true });
      }
    },
  );

  it('refuses a packed directory over the entry limit with UNSAFE_ARCHIVE and writes nothing', async () => {
    const { admin } = await startServer({
      config: { router: { approvalRequiredFor: [], archive: { maxEntries: 50 } } },
    });
    const session = await admin.sessions.create({ policy: 'permissive' });
    const local = mkdtempSync(join(tmpdir(), 'airlock-sdk-stream-'));
    try {
      for (let index = 0; index < 400; index += 1)
        writeFileSync(join(local, `f${index}.txt`), 'x'.repeat(2048));
      const refused = await failure(uploadDirectory(session.files, local, '/workspace/p'));
      expect(refused.code).toBe('UNSAFE_ARCHIVE');
      expect(refused.message).toMatch(/50/);
      expect((await session.run('ls -A /workspace | wc -l')).stdout.trim()).toBe('0');
    } finally {
      rmSync(local, { recursive: true, force: true });
    }
  });
});

describe.skipIf(bwrapMissing)('a download streamed as it is checked (summary at the end)', () => {
  it(
    'unpacks it whole with the summary read from its end, and a refused export leaves the destination as it was',
    { timeout: 60_000 },
    async () => {
      const { admin } = await startServer({
        config: { router: { approvalRequiredFor: [], archive: { maxEntries: 60 } } },
      });
      const session = await admin.sessions.create({ policy: 'permissive' });
      await session.run(
        'mkdir -p small big && for i in $(seq 1 20); do echo $i > small/f$i; done && ln -s /etc/passwd small/out ' +
          '&& for i in $(seq 1 200); do head -c 10000 /dev/zero > big/f$i; done',
      );
      const local = mkdtempSync(join(tmpdir(), 'airlock-sdk-streamed-'));
      try {
        // The raw stream: entries, then the summary as a pax global header, then the end marker.
        const raw = await session.files.downloadStream('/workspace/small', { summary: 'end' });
        expect(raw.leftOut).toEqual([]);
        const chunks: Uint8Array[] = [];
        for await (const chunk of raw.tar) chunks.push(chunk);
        const tar = Buffer.concat(chunks);
        expect(tar.subarray(-1024).every((byte) => byte === 0)).toBe(true);
        expect(tar.toString('latin1')).toMatch(/AIRLOCK\.summary=\{"files":20,/);
        const names = (await entriesOf(tar)).filter((entry) => entry.type === 'file');
        expect(names).toHaveLength(20);

        const into = join(local, 'into');
        mkdirSync(into);
        writeFileSync(join(into, 'kept.txt'), 'mine\n');
        const down = await downloadDirectory(session.files, '/workspace/small', into);
        expect(down.written).toHaveLength(20);
        expect(down.leftOut).toEqual([
          { path: 'out', why: expect.stringMatching(/outside the exported tree/) as unknown },
        ]);
        expect(readFileSync(join(into, 'f7'), 'utf8')).toBe('7\n');
        expect(readFileSync(join(into, 'kept.txt'), 'utf8')).toBe('mine\n');

        // Over the entry limit part way through: the body breaks off, and nothing of it is kept.
        const refusedInto = join(local, 'refused');
        mkdirSync(refusedInto);
        writeFileSync(join(refusedInto, 'kept.txt'), 'mine\n');
        await expect(downloadDirectory(session.files, '/workspace/big', refusedInto)).rejects.toThrow(
          /unreadable|terminated/,
        );
        await expect(
          downloadDirectory(session.files, '/workspace/big', join(local, 'fresh')),
        ).rejects.toThrow();
        const { readdirSync } = await import('node:fs');
        expect(readdirSync(refusedInto)).toEqual(['kept.txt']);
        expect(readdirSync(local).sort()).toEqual(['into', 'refused']);

        // Refused before its first bytes were sent: still an error answer, not a broken body.
        const missing = await failure(session.files.downloadStream('/workspace/none', { summary: 'end' }));
        expect(missing.code).toBe('NOT_FOUND');
        await session.run('mkdir many && for i in $(seq 1 100); do echo $i > many/f$i; done');
        const early = await failure(session.files.downloadStream('/workspace/many', { summary: 'end' }));
        expect(early.code).toBe('LIMIT_REACHED');
      } finally {
        rmSync(local, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(bwrapMissing)('the rest of the files API over HTTP', () => {
  it(
    'stats, makes directories, writes many, renames and removes, each audited',
    { timeout: 60_000 },
    async () => {
      const { admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
      const session = await admin.sessions.create({ policy: 'permissive' });
      expect(await session.files.exists('notes/a.txt')).toBe(false);
      expect((await session.files.mkdir('notes/deep')).status).toBe('completed');
      expect(await session.files.stat('notes/deep')).toMatchObject({
        kind: 'directory',
        path: '/workspace/notes/deep',
      });
      const many = await session.files.writeMany([
        { path: 'notes/a.txt', data: 'alpha' },
        { path: 'notes/b.bin', data: new Uint8Array([0, 255, 1]) },
      ]);
      expect(many).toMatchObject({
        status: 'completed',
        paths: ['/workspace/notes/a.txt', '/workspace/notes/b.bin'],
      });
      expect(await session.files.stat('notes/a.txt')).toMatchObject({ kind: 'file', sizeBytes: 5 });
      expect([...(await session.files.read('notes/b.bin'))]).toEqual([0, 255, 1]);
      await session.files.rename('notes/a.txt', 'notes/c.txt');
      expect(await session.files.exists('notes/a.txt')).toBe(false);
      expect(await session.files.readText('notes/c.txt')).toBe('alpha');
      await session.files.remove('notes');
      expect(await session.files.exists('notes')).toBe(false);
      const types = (await admin.audit.list({ sessionId: session.id })).map((event) => event.type);
      expect(types).toEqual(
        expect.arrayContaining(['file.dir_created', 'file.written', 'file.renamed', 'file.removed']),
      );
    },
  );

  it('removes a planted symlink itself, never what it points to, and refuses paths out of the sandbox', async () => {
    const { admin } = await startServer({ config: { router: { approvalRequiredFor: [] } } });
    const session = await admin.sessions.create({ policy: 'permissive' });
    await session.run('mkdir -p /tmp/keep && echo precious > /tmp/keep/file && ln -s /tmp/keep link');
    expect(await session.files.stat('link')).toMatchObject({ kind: 'symlink' });
    await session.files.remove('link');
    expect((await session.run('cat /tmp/keep/file')).stdout).toBe('precious\n');
    for (const attempt of [
      session.files.remove('/workspace'),
      session.files.remove('../etc/passwd'),
      session.files.rename('x', '/etc/passwd'),
      session.files.mkdir('/var/evil'),
      session.files.writeMany([
        { path: 'ok.txt', data: 'x' },
        { path: '/etc/evil', data: 'x' },
      ]),
    ]) {
      expect((await failure(attempt)).code).toBe('PATH_OUTSIDE_SANDBOX');
    }
    // The batch was refused before its first write.
    expect(await session.files.exists('ok.txt')).toBe(false);
    expect((await failure(session.files.remove('nothing-here'))).code).toBe('NOT_FOUND');
  });

  it('asks a person before a removal when write_file needs approval, and removes nothing when denied', async () => {
    const { admin } = await startServer({
      config: { router: { approvalRequiredFor: ['write_file'], approvalTimeout: '1s' } },
    });
    const session = await admin.sessions.create({ policy: 'permissive' });
    await session.run('echo keep > kept.txt');
    const removal = await session.files.remove('kept.txt');
    expect(removal.status).toBe('denied');
    expect(removal.reasons.join(' ')).toMatch(/in time/);
    expect(await session.files.exists('kept.txt')).toBe(true);
  });
});
