/**
 * The sandbox's own `tar` does the unpacking and packing, inside the sandbox, as the sandbox's user:
 * the host never opens a path in the sandbox's tree, so a symlink the agent planted (or swaps in
 * meanwhile) can only send a file somewhere the sandbox could write anyway. The archive goes in as
 * parts through the supervisor's file copy (into a fresh directory in /tmp, see Staging) and comes out as the
 * command's stdout; the control plane checks both sides (incoming.ts, outgoing.ts).
 */
import { randomUUID } from 'node:crypto';
import { AirlockError } from '../../errors/index.ts';
import { asSessionWork } from '../../sessions/index.ts';
import type { LiveSession, SessionManager } from '../../sessions/index.ts';
import type { ExportReader } from './outgoing.ts';

export type Work = Pick<SessionManager, 'beginWork'>;

/** Time allowed to unpack or pack one archive inside the sandbox (a 100 MB tree takes seconds). */
export const ARCHIVE_TIMEOUT_MS = 10 * 60 * 1000;
/** One supervisor request carries at most 4 MiB: the archive goes in as parts just under that. */
const PART_BYTES = 4 * 1024 * 1024 - 64 * 1024;

/** Single-quoted for the sandbox's `sh`; paths reach here already checked by resolveSandboxPath. */
const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function failed(what: string, dir: string, stderr: string, exitCode: number | null): AirlockError {
  const detail = stderr.trim().split('\n').slice(-3).join('; ').slice(0, 500);
  if (/No such file|Cannot open|Cannot change/i.test(detail) && what === 'pack') {
    return new AirlockError('NOT_FOUND', `${dir} is not a directory in the sandbox (${detail})`, {
      path: dir,
    });
  }
  return new AirlockError(
    'SANDBOX_REQUEST_FAILED',
    `the sandbox's tar could not ${what} ${dir} (exit ${exitCode ?? 'by signal'}): ${detail || 'no message'}`,
    { path: dir, exitCode },
  );
}

/**
 * Where a checked archive waits inside the sandbox until the whole of it passed (and a person agreed,
 * when one is asked): the packed tar goes in as parts, each written as soon as it is full, so the host
 * holds at most one part; `unpack` then unpacks them all at once, `discard` removes them.
 */
export interface Staging {
  /** The next bytes of the checked tar; resolves once they are written or held for the next part. */
  write(chunk: Buffer): Promise<void>;
  /** Unpacks the staged tar into `dir` (created if missing) and removes the parts. */
  unpack(dir: string): Promise<void>;
  /** Removes whatever was staged (a refused or denied archive). */
  discard(): Promise<void>;
}

export function createStaging(sessions: Work, session: LiveSession): Staging {
  const done = sessions.beginWork(session);
  const staging = `/tmp/.airlock-archive-${randomUUID()}`;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let parts = 0;
  let finished = false;
  const writePart = async (data: Buffer): Promise<void> => {
    const name = `${staging}/part-${String(parts).padStart(6, '0')}`;
    parts += 1;
    await session.sandbox.writeFile(name, data, { createParents: true, mode: 0o600 });
  };
  const finish = (): void => {
    if (!finished) done();
    finished = true;
  };
  return {
    async write(chunk) {
      held.push(chunk);
      heldBytes += chunk.length;
      if (heldBytes < PART_BYTES) return;
      const all = Buffer.concat(held, heldBytes);
      let offset = 0;
      for (; all.length - offset >= PART_BYTES; offset += PART_BYTES)
        await writePart(all.subarray(offset, offset + PART_BYTES));
      held = [all.subarray(offset)];
      heldBytes = all.length - offset;
    },
    async unpack(dir) {
      try {
        if (heldBytes > 0 || parts === 0) await writePart(Buffer.concat(held, heldBytes));
        held = [];
        heldBytes = 0;
        const script =
          `trap 'rm -rf ${quoted(staging)}' EXIT; mkdir -p -- ${quoted(dir)} && ` +
          `cat ${quoted(staging)}/part-* | tar -xf - -C ${quoted(dir)}`;
        const result = await session.sandbox.exec(script, {
          timeoutMs: ARCHIVE_TIMEOUT_MS,
          signal: session.ending.signal,
        });
        if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
      } finally {
        finish();
      }
    },
    async discard() {
      held = [];
      heldBytes = 0;
      try {
        if (parts > 0 && !session.ending.signal.aborted)
          await session.sandbox
            .exec(`rm -rf ${quoted(staging)}`, { timeoutMs: 60_000 })
            .catch(() => undefined);
      } finally {
        finish();
      }
    },
  };
}

/** Packs `dir` inside the sandbox and streams it through the export checks of `reader`. */
export async function packInSandbox(
  sessions: Work,
  session: LiveSession,
  dir: string,
  reader: ExportReader,
): Promise<void> {
  await asSessionWork(sessions, session, async () => {
    const signal = AbortSignal.any([reader.stop, session.ending.signal]);
    const result = await session.sandbox.exec(`tar -cf - -C ${quoted(dir)} .`, {
      timeoutMs: ARCHIVE_TIMEOUT_MS,
      stdoutTo: reader.sink,
      // The tree reaches the host only through the export checks, never as the command's output.
      captureStdout: false,
      signal,
    });
    if (reader.stop.aborted) return;
    reader.end();
    // GNU tar exits 1 when a file changed while it was read: the tree is still whole and checked.
    if (result.exitCode !== 0 && result.exitCode !== 1)
      throw failed('pack', dir, result.stderr, result.exitCode);
  });
}
