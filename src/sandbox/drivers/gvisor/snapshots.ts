import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../../../errors/index.ts';
import type { SandboxSnapshot, SandboxSpec } from '../../types.ts';
import type { SupervisorFacts } from '../../supervisor/index.ts';
import type { GvisorPlatform } from './plan.ts';
import { runscQuiet } from './runsc.ts';

/** Snapshot ids are made here; anything else handed to restore is refused, so no path escapes. */
const SNAPSHOT_ID = /^snap-[0-9a-f]{16}$/;
const SNAPSHOT_META = 'airlock-snapshot.json';
const CHECKPOINT_TIMEOUT_MS = 120_000;

/** What a restore needs besides runsc's image: the spec to rebuild the bundle, the next request id. */
export interface SnapshotMeta {
  spec: SandboxSpec;
  platform: GvisorPlatform;
  /** The request id the restored supervisor's new client starts from (older ones may be in use). */
  resumeAt: number;
  /** What the supervisor reported when it started; a restored one does not report again. */
  facts?: SupervisorFacts;
  createdAtMs: number;
}

export interface CheckpointInput {
  /** The argv that starts runsc (see `runscCommand`). */
  runscCommand: readonly string[];
  globalArgs: string[];
  containerId: string;
  snapshotsDir: string;
  meta: Omit<SnapshotMeta, 'createdAtMs'>;
}

/**
 * `runsc checkpoint --leave-running`: the sandbox's whole state (memory, processes, the in-memory
 * scratch) saved under `snapshotsDir`, while the session goes on.
 */
export async function checkpointSandbox(input: CheckpointInput): Promise<SandboxSnapshot> {
  const id = `snap-${randomBytes(8).toString('hex')}`;
  const target = join(input.snapshotsDir, id);
  mkdirSync(target, { mode: 0o700 });
  const result = await runscQuiet(
    input.runscCommand,
    [...input.globalArgs, 'checkpoint', `--image-path=${target}`, '--leave-running', input.containerId],
    CHECKPOINT_TIMEOUT_MS,
  );
  if (result.code !== 0) {
    rmSync(target, { recursive: true, force: true });
    throw new AirlockError('SANDBOX_UNAVAILABLE', `runsc checkpoint failed (exit ${result.code})`, {
      driver: 'gvisor',
      reason: 'checkpoint failed',
    });
  }
  const meta: SnapshotMeta = { ...input.meta, createdAtMs: Date.now() };
  writeFileSync(join(target, SNAPSHOT_META), JSON.stringify(meta), { mode: 0o600 });
  const sizeBytes = readdirSync(target).reduce((sum, file) => sum + statSync(join(target, file)).size, 0);
  return { driver: 'gvisor', id, createdAtMs: meta.createdAtMs, sizeBytes };
}

/** The checkpoint directory and metadata of a snapshot this driver made. */
export function readSnapshot(
  snapshotsDir: string,
  snapshot: SandboxSnapshot,
): { dir: string; meta: SnapshotMeta } {
  if (snapshot.driver !== 'gvisor' || !SNAPSHOT_ID.test(snapshot.id)) {
    throw new AirlockError('INVALID_ARGUMENT', `${JSON.stringify(snapshot.id)} is not a gVisor snapshot`, {
      field: 'snapshot',
    });
  }
  const dir = join(snapshotsDir, snapshot.id);
  try {
    return { dir, meta: JSON.parse(readFileSync(join(dir, SNAPSHOT_META), 'utf8')) as SnapshotMeta };
  } catch {
    throw new AirlockError('NOT_FOUND', `no gVisor snapshot ${snapshot.id} in ${snapshotsDir}`, {
      snapshotId: snapshot.id,
    });
  }
}
