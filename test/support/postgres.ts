/**
 * A throw-away PostgreSQL cluster for tests: `initdb` into a fresh directory, `postgres` started as a
 * child on 127.0.0.1 and a free port (trust authentication, reachable only from this machine), stopped
 * by its PID and removed afterwards. Never a system-wide server, never a mock. As root the server runs
 * as the `postgres` account, since PostgreSQL refuses to run as root.
 *
 * Missing binaries skip the suites that need them (with the reason), unless AIRLOCK_REQUIRE_POSTGRES=1
 * (set by .ci/run), where they fail instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresCluster {
  readonly port: number;
  /** The server's PID while it runs. */
  pid(): number | undefined;
  /** A URL for a database of this cluster (default `postgres`). */
  url(database?: string): string;
  /** A new, empty database; returns its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Fast shutdown (SIGINT), waiting for the server to exit. The data stays for `start`. */
  stop(): Promise<void>;
  /** Starts the server again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}

/** The directory holding initdb and postgres, or the reason there is none. */
export function findPostgresBin(): { dir: string } | { missing: string } {
  const candidates: string[] = [];
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a));
    for (const version of versions) candidates.push(join(root, version, 'bin'));
  }
  for (const dir of (process.env['PATH'] ?? '').split(':')) if (dir !== '') candidates.push(dir);
  const found = candidates.find(
    (dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres')),
  );
  return found === undefined
    ? { missing: 'PostgreSQL is not installed (no initdb and postgres; scripts/setup.sh installs it)' }
    : { dir: found };
}

/** Why PostgreSQL suites cannot run here, or undefined when they can (or must). */
export function postgresSkipReason(): string | undefined {
  const bin = findPostgresBin();
  if ('dir' in bin) return undefined;
  return process.env['AIRLOCK_REQUIRE_POSTGRES'] === '1' ? undefined : bin.missing;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** uid and gid of the `postgres` account, from /etc/passwd. */
function postgresAccount(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error('running as root, but there is no postgres account to run PostgreSQL as');
  }
  return { uid: Number(uid), gid: Number(gid) };
}

export interface StartPostgresOptions {
  /** fsync and synchronous commit off: faster, and enough for tests (not for the bench). */
  readonly durable?: boolean;
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  if ('missing' in bin) throw new Error(bin.missing);
  const asUser = process.getuid?.() === 0 ? postgresAccount() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'airlock-pg-'));
  if (asUser !== undefined) chownSync(dir, asUser.uid, asUser.gid);
  const data = join(dir, 'data');
  const init = spawnSync(
    join(bin.dir, 'initdb'),
    ['-D', data, '-U', 'airlock', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8', ...(asUser === undefined ? {} : asUser), cwd: dir },
  );
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr || init.stdout || String(init.error)}`);
  }
  const port = await freePort();
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log = '';

  const start = async (): Promise<void> => {
    const settings = [
      ['listen_addresses', '127.0.0.1'],
      ['port', String(port)],
      ['unix_socket_directories', dir],
      ['max_connections', '300'],
      ...(options.durable === true
        ? []
        : [
            ['fsync', 'off'],
            ['synchronous_commit', 'off'],
            ['full_page_writes', 'off'],
          ]),
    ].flatMap(([name, value]) => ['-c', `${name}=${value}`]);
    const started = spawn(join(bin.dir, 'postgres'), ['-D', data, ...settings], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(asUser === undefined ? {} : asUser),
      cwd: dir,
    });
    child = started;
    started.stderr?.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8000);
    });
    exited = new Promise((resolve) => started.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new pg.Client({ connectionString: url('postgres') });
      try {
        await client.connect();
        await client.end();
        return;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (started.exitCode !== null || Date.now() > deadline) {
          throw new Error(`PostgreSQL did not start: ${String(error)}\n${log}`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };

  const stop = async (): Promise<void> => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    running.kill('SIGINT');
    await exited;
  };

  const url = (database = 'postgres'): string => `postgres://airlock@127.0.0.1:${port}/${database}`;
  let databases = 0;

  try {
    await start();
  } catch (error) {
    await stop();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    pid: () => child?.pid,
    url,
    async createDatabase(name) {
      databases += 1;
      const database = name ?? `airlock_test_${databases}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
      } finally {
        await client.end();
      }
      return url(database);
    },
    stop,
    start,
    async destroy() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
