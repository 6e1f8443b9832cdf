/**
 * Snapshots of a session's writable state (/workspace and /tmp), kept under the state directory so a
 * fresh session can start from them: reset to a prepared state between tasks, or fork several
 * sessions from one.
 *
 * The archive is made and unpacked by `tar` *inside* the sandbox. The host only stores opaque bytes:
 * unpacking agent-made archives on the host would hand the agent path traversal, symlink and device
 * tricks against the host file system.
 */
import { randomBytes } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { escapeForDisplay } from '../shell/index.ts';
import type { Sandbox } from '../sandbox/index.ts';
import type { SessionSettings, SnapshotInfo } from './types.ts';

const SNAPSHOT_ID = /^snap_[0-9a-f]{24}$/;
const MAX_NAME_CHARS = 200;
/** Where a restore parks the archive inside the sandbox; removed right after unpacking. */
const RESTORE_ARCHIVE = '/tmp/.airlock-restore.tar';
const ARCHIVE_TIMEOUT_MS = 120_000;

export interface SnapshotStore {
  save(
    sandbox: Sandbox,
    meta: { sessionId: string; name: string | null; settings: SessionSettings },
  ): Promise<SnapshotInfo>;
  get(id: string): SnapshotInfo;
  restore(id: string, sandbox: Sandbox): Promise<void>;
  /** The snapshot's archive (`workspace/…` and `tmp/…`), read from disk as it is consumed. */
  read(id: string): AsyncIterable<Buffer>;
  list(): SnapshotInfo[];
  remove(id: string): void;
}

export function createSnapshotStore(options: { dir: string; now?: () => number }): SnapshotStore {
  const { dir } = options;
  const now = options.now ?? Date.now;

  function pathsOf(id: string): { archive: string; meta: string } {
    if (!SNAPSHOT_ID.test(id)) {
      throw new AirlockError('INVALID_ARGUMENT', `${JSON.stringify(id)} is not a snapshot id (snap_…)`, {
        field: 'from',
      });
    }
    return { archive: join(dir, `${id}.tar`), meta: join(dir, `${id}.json`) };
  }

  function get(id: string): SnapshotInfo {
    const { meta } = pathsOf(id);
    if (!existsSync(meta)) throw new AirlockError('NOT_FOUND', `no snapshot ${id}`, { snapshotId: id });
    return JSON.parse(readFileSync(meta, 'utf8')) as SnapshotInfo;
  }

  async function save(
    sandbox: Sandbox,
    meta: { sessionId: string; name: string | null; settings: SessionSettings },
  ): Promise<SnapshotInfo> {
    if (
      meta.name !== null &&
      (meta.name.length > MAX_NAME_CHARS || escapeForDisplay(meta.name) !== meta.name)
    ) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `a snapshot name is at most ${MAX_NAME_CHARS} printable characters`,
        { field: 'name' },
      );
    }
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const id = `snap_${randomBytes(12).toString('hex')}`;
    const { archive, meta: metaPath } = pathsOf(id);
    const partial = `${archive}.partial`;
    const file = createWriteStream(partial, { mode: 0o600 });
    const opened = new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', reject);
    });
    await opened;
    let result;
    try {
      result = await sandbox.exec('tar -C / -cf - workspace tmp', {
        stdoutTo: file,
        timeoutMs: ARCHIVE_TIMEOUT_MS,
      });
    } finally {
      await new Promise<void>((resolve) => file.end(resolve));
    }
    result.stdoutStream.discard();
    result.stderrStream.discard();
    if (result.exitCode !== 0) {
      rmSync(partial, { force: true });
      throw new AirlockError(
        'SANDBOX_LOST',
        `the snapshot could not be made: tar in the sandbox ${result.timedOut ? 'timed out' : `exited with ${result.exitCode ?? result.signal}`}: ${result.stderr.trim().slice(0, 300)}`,
        { sessionId: meta.sessionId },
      );
    }
    renameSync(partial, archive);
    const info: SnapshotInfo = {
      id,
      name: meta.name,
      sessionId: meta.sessionId,
      createdAt: new Date(now()).toISOString(),
      bytes: statSync(archive).size,
      settings: meta.settings,
    };
    await writeFile(metaPath, JSON.stringify(info), { mode: 0o600 });
    return info;
  }

  async function restore(id: string, sandbox: Sandbox): Promise<void> {
    const { archive } = pathsOf(id);
    get(id);
    const bytes = readFileSync(archive);
    await sandbox.writeFile(RESTORE_ARCHIVE, bytes, { mode: 0o600 });
    const result = await sandbox.exec(
      `tar -C / -xpf ${RESTORE_ARCHIVE}; status=$?; rm -f ${RESTORE_ARCHIVE}; exit $status`,
      {
        timeoutMs: ARCHIVE_TIMEOUT_MS,
      },
    );
    result.stdoutStream.discard();
    result.stderrStream.discard();
    if (result.exitCode !== 0) {
      throw new AirlockError(
        'SANDBOX_LOST',
        `snapshot ${id} could not be restored: tar in the sandbox exited with ${result.exitCode ?? result.signal}: ${result.stderr.trim().slice(0, 300)}`,
        { snapshotId: id },
      );
    }
  }

  function list(): SnapshotInfo[] {
    if (!existsSync(dir)) return [];
    const infos: SnapshotInfo[] = [];
    for (const name of readdirNames(dir)) {
      const match = /^(snap_[0-9a-f]{24})\.json$/.exec(name);
      if (match?.[1] !== undefined) infos.push(get(match[1]));
    }
    return infos.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  function remove(id: string): void {
    const { archive, meta } = pathsOf(id);
    get(id);
    rmSync(meta, { force: true });
    rmSync(archive, { force: true });
  }

  function read(id: string): AsyncIterable<Buffer> {
    const { archive } = pathsOf(id);
    get(id);
    return createReadStream(archive);
  }

  return { save, get, restore, read, list, remove };
}

function readdirNames(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
