/**
 * The sandbox's own `tar` does the unpacking and packing, inside the sandbox, as the sandbox's user:
 * the host never opens a path in the sandbox's tree, so a symlink the agent planted (or swaps in
 * meanwhile) can only send a file somewhere the sandbox could write anyway. The archive goes in as
 * parts through the supervisor's file copy (appended to a fresh file in /tmp, see Staging) and comes out as the
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
 * when one is asked): one file in /tmp, appended a part at a time as soon as a part is full; `unpack`
 * then unpacks it at once, `discard` removes it. The sandbox's tar reads the file itself: no `cat`
 * and pipe in between, which cost the sandbox's CPU quota a copy of every byte.
 */
export interface Staging {
  /**
   * The next bytes of the checked tar, as pieces (not copied: unchanged until written). Resolves once
   * they are held for the next part or on their way, with at most PARTS_IN_FLIGHT parts unanswered:
   * checking the rest goes on while the sandbox writes.
   */
  write(pieces: readonly Buffer[]): Promise<void>;
  /** Unpacks the staged tar into `dir` (created if missing) and removes it. */
  unpack(dir: string): Promise<void>;
  /** Removes whatever was staged (a refused or denied archive). */
  discard(): Promise<void>;
}

/**
 * Parts sent and not yet answered: enough that the channel never waits for the host, few enough that
 * the host holds at most this many parts besides the one being gathered.
 */
const PARTS_IN_FLIGHT = 2;

export function createStaging(sessions: Work, session: LiveSession): Staging {
  const done = sessions.beginWork(session);
  const file = `/tmp/.airlock-archive-${randomUUID()}.tar`;
  let held: Buffer[] = [];
  let heldBytes = 0;
  let sent = 0;
  const inFlight: Array<Promise<void>> = [];
  let finished = false;
  // Each part is one write request (PART_BYTES is under the request limit), so the parts land in the
  // order sent: the supervisor serves requests one after the other.
  const send = (part: readonly Buffer[]): void => {
    const written = session.sandbox.writeFile(file, part, {
      createParents: true,
      mode: 0o600,
      append: sent > 0,
    });
    // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
    written.catch(() => undefined);
    inFlight.push(written);
    sent += 1;
  };
  /** The first `bytes` held, as pieces (a piece split where the part ends). */
  const takeHeld = (bytes: number): Buffer[] => {
    const part: Buffer[] = [];
    let taken = 0;
    let next = 0;
    while (taken < bytes) {
      const piece = held[next] as Buffer;
      const take = Math.min(piece.length, bytes - taken);
      if (take < piece.length) {
        part.push(piece.subarray(0, take));
        held[next] = piece.subarray(take);
      } else {
        part.push(piece);
        next += 1;
      }
      taken += take;
    }
    // Sliced once, not shifted piece by piece: a part of small files is thousands of pieces.
    held = held.slice(next);
    heldBytes -= taken;
    return part;
  };
  const settleAll = async (): Promise<void> => {
    while (inFlight.length > 0) await inFlight.shift();
  };
  const removeFile = async (): Promise<void> => {
    await Promise.allSettled(inFlight.splice(0));
    if (sent > 0 && !session.ending.signal.aborted)
      await session.sandbox.exec(`rm -f -- ${quoted(file)}`, { timeoutMs: 60_000 }).catch(() => undefined);
  };
  const finish = (): void => {
    if (!finished) done();
    finished = true;
  };
  return {
    async write(pieces) {
      for (const piece of pieces) {
        if (piece.length === 0) continue;
        held.push(piece);
        heldBytes += piece.length;
      }
      while (heldBytes >= PART_BYTES) {
        send(takeHeld(PART_BYTES));
        if (inFlight.length > PARTS_IN_FLIGHT) await inFlight.shift();
      }
    },
    async unpack(dir) {
      try {
        try {
          if (heldBytes > 0 || sent === 0) send(takeHeld(heldBytes));
          await settleAll();
        } catch (error) {
          await removeFile();
          throw error;
        }
        const script =
          `trap 'rm -f -- ${quoted(file)}' EXIT; mkdir -p -- ${quoted(dir)} && ` +
          `tar -xf ${quoted(file)} -C ${quoted(dir)}`;
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
        await removeFile();
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
