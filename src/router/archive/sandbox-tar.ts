/**
 * The sandbox's own `tar` does the unpacking and packing, inside the sandbox, as the sandbox's user:
 * the host never opens a path in the sandbox's tree, so a symlink the agent planted (or swaps in
 * meanwhile) can only send a file somewhere the sandbox could write anyway. The archive goes in as
 * parts through the supervisor's file copy (staged-parts.ts) and comes out as the command's stdout;
 * the control plane checks both sides (incoming.ts, outgoing.ts).
 */
import { AirlockError } from '../../errors/index.ts';
import { asSessionWork } from '../../sessions/index.ts';
import type { LiveSession, SessionManager } from '../../sessions/index.ts';
import type { ExportReader } from './outgoing.ts';

export type Work = Pick<SessionManager, 'beginWork'>;

/** Time allowed to unpack or pack one archive inside the sandbox (a 100 MB tree takes seconds). */
export const ARCHIVE_TIMEOUT_MS = 10 * 60 * 1000;

/** Single-quoted for the sandbox's `sh`; paths reach here already checked by resolveSandboxPath. */
export const quoted = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

export function failed(what: string, dir: string, stderr: string, exitCode: number | null): AirlockError {
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
