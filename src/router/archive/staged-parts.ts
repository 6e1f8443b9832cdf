/**
 * Where a checked archive goes while the rest of it is still being checked: cut between entries into
 * parts of about 4 MiB and streamed, part by part, into one `tar -x` in the sandbox (its stdin, in
 * large input frames), which unpacks it into a staging directory inside the destination
 * (`<dir>/.airlock-incoming-<id>`) while the host checks the next parts. Only once the whole archive
 * passed every check (and a person agreed, when one is asked) does `unpack` move the staged tree into
 * place: renames on the same filesystem, tar's own semantics for names already there
 * (staged-scripts.ts). Nothing of the archive is written to /tmp but its directories' headers.
 *
 * One tar for the whole archive, not one a part: each process started costs the sandbox's CPU quota
 * (about 3 ms of it a tar), and under the default half core the sandbox's share of a copy in is what
 * bounds it.
 *
 * Security limitations: what is staged is the checked archive only (packed again by incoming.ts),
 * unpacked by the sandbox's own tar as the sandbox's user; the host never opens a sandbox path. The
 * staged tree is visible to the sandbox under `.airlock-incoming-*` before the checks finished and a
 * person decided, but at no path of its own: nothing reaches the names it was copied to until then, and
 * a refused copy removes it. An agent changing the staged files can only change files it could write
 * anyway. Secret-looking files are registered for redaction before their bytes are staged
 * (import-archive.ts).
 */
import { randomUUID } from 'node:crypto';
import { TAR_END } from '../../local-tree/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import { ARCHIVE_TIMEOUT_MS, failed } from './sandbox-tar.ts';
import type { Work } from './sandbox-tar.ts';
import { discardScript, finalScript, wholeScript } from './staged-scripts.ts';
import type { StagedPaths } from './staged-scripts.ts';
import { createTarStreamIn, FRAME_BYTES, grouped } from './tar-stream-in.ts';

/** A part is closed at the first entry's end past this: a part of small files is one input frame. */
const PART_BYTES = FRAME_BYTES;
/**
 * Write requests (the directories' headers, a small archive) not yet answered: enough that the
 * channel never waits for the host, few enough that the host holds little besides.
 */
const REQUESTS_IN_FLIGHT = 2;
/**
 * The directories' headers, set again last (finalScript), go to a file of their own in the sandbox's
 * /tmp in batches of about this size: held here, tens of thousands of directories with long names
 * would hold hundreds of MiB on the host until the end.
 */
const DIRECTORY_BATCH_BYTES = 1024 * 1024;

export interface Staging {
  /**
   * The next entry of the checked tar, as pieces (not copied: unchanged until written), or its end.
   * Resolves once the entry is held for the next part or on its way; waits while the sandbox is behind.
   */
  write(pieces: readonly Buffer[], kind: 'file' | 'directory' | 'end'): Promise<void>;
  /** Moves the whole staged archive into place (the directory is created if missing). */
  unpack(): Promise<void>;
  /** Removes whatever was staged (a refused or denied archive), and the directory if this copy made it. */
  discard(): Promise<void>;
}

export function createStaging(sessions: Work, session: LiveSession, dir: string): Staging {
  const done = sessions.beginWork(session);
  const id = randomUUID();
  const paths: StagedPaths = {
    dir,
    temp: `/tmp/.airlock-archive-${id}`,
    staging: `${dir === '/' ? '' : dir}/.airlock-incoming-${id}`,
  };
  const files = createFileSender(session);
  const tar = createTarStreamIn(session, paths);
  let held: Buffer[] = [];
  let heldBytes = 0;
  let parts = 0;
  /** Copies of the directory entries not yet sent: their modes and mtimes are set again, last. */
  let directories: Buffer[] = [];
  let directoryBytes = 0;
  let directoriesSent = false;
  const directoryWrites: Array<Promise<void>> = [];
  const directoriesFile = `${paths.temp}/directories.tar`;
  let finished = false;
  const exec = (script: string) =>
    session.sandbox.exec(script, { timeoutMs: ARCHIVE_TIMEOUT_MS, signal: session.ending.signal });

  /** The directory headers gathered so far, after those sent before (and, at the end, the end marker). */
  const sendDirectories = async (end: boolean): Promise<Array<Promise<void>>> => {
    const pieces = end ? [...directories, TAR_END] : directories;
    directories = [];
    directoryBytes = 0;
    const answers = await files.send(directoriesFile, pieces, directoriesSent);
    directoriesSent = true;
    return answers;
  };
  const takeHeld = (): Buffer[] => {
    const taken = held;
    held = [];
    heldBytes = 0;
    return taken;
  };
  const closePart = (): Promise<void> => {
    parts += 1;
    return tar.send(takeHeld());
  };
  const finish = (): void => {
    if (!finished) done();
    finished = true;
  };
  const discard = async (): Promise<void> => {
    takeHeld();
    try {
      await tar.stop();
      await files.settle();
      if ((files.requested || tar.started) && !session.ending.signal.aborted)
        await exec(discardScript(paths, tar.madeTop)).catch(() => undefined);
    } finally {
      finish();
    }
  };
  /** The last part and the move into place. */
  const complete = async (): Promise<void> => {
    if (parts === 0) {
      // All of it in one part: unpacked straight into place by one tar, nothing staged.
      const file = `${paths.temp}/0.tar`;
      await Promise.all(await files.send(file, [...takeHeld(), TAR_END]));
      const result = await exec(wholeScript(paths, file));
      if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
      return;
    }
    // The rest as the last part with the archive's end marker, then the end of the tar's input.
    held.push(TAR_END);
    await closePart();
    await tar.finish();
    await Promise.all([...directoryWrites.splice(0), ...(await sendDirectories(true))]);
    const result = await exec(finalScript(paths, directoriesFile));
    if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
  };
  return {
    async write(pieces, kind) {
      // The end marker goes with the last part (complete), after which the tar's input ends.
      if (kind === 'end') return;
      for (const piece of pieces) {
        if (piece.length === 0) continue;
        held.push(piece);
        heldBytes += piece.length;
      }
      if (kind === 'directory') {
        const header = Buffer.concat(pieces);
        directories.push(header);
        directoryBytes += header.length;
        // Sent on, not waited for: their answers are awaited before the final script uses the file.
        if (directoryBytes >= DIRECTORY_BATCH_BYTES) directoryWrites.push(...(await sendDirectories(false)));
      }
      if (heldBytes >= PART_BYTES) await closePart();
    },
    async unpack() {
      try {
        await complete();
      } catch (error) {
        await discard();
        throw error;
      } finally {
        finish();
      }
    },
    discard,
  };
}

/** Files written into the sandbox a request at a time, a bounded number of requests unanswered. */
interface FileSender {
  /**
   * Sends `pieces` as the file `file` (or after what it holds, `append`); resolves once sent, with
   * the requests' answers.
   */
  send(file: string, pieces: readonly Buffer[], append?: boolean): Promise<Array<Promise<void>>>;
  /** Waits for every request sent (failed ones too). */
  settle(): Promise<void>;
  /** Whether any request was sent. */
  readonly requested: boolean;
}

function createFileSender(session: LiveSession): FileSender {
  const requests: Array<Promise<void>> = [];
  let requested = false;
  return {
    get requested() {
      return requested;
    },
    async send(file, pieces, append = false) {
      const answers: Array<Promise<void>> = [];
      for (const group of grouped(pieces, FRAME_BYTES)) {
        // Requests are served one after the other: the appends land in the order sent.
        const answer = session.sandbox.writeFile(file, group, {
          createParents: true,
          mode: 0o600,
          append: append || answers.length > 0,
        });
        // Awaited by the caller; this only keeps a failure from counting as unhandled meanwhile.
        answer.catch(() => undefined);
        requested = true;
        answers.push(answer);
        requests.push(answer);
        while (requests.length > REQUESTS_IN_FLIGHT) await requests.shift();
      }
      return answers;
    },
    async settle() {
      await Promise.allSettled(requests.splice(0));
    },
  };
}
