/**
 * Where a checked archive goes while the rest of it is still being checked: cut between entries into
 * parts of about 4 MiB, each a tar of its own, each written to its own file in the sandbox's /tmp and
 * unpacked at once by the sandbox's tar into a staging directory inside the destination
 * (`<dir>/.airlock-incoming-<id>`), one part after the other, while the host checks the next ones. Only
 * once the whole archive passed every check (and a person agreed, when one is asked) does `unpack` move
 * the staged tree into place: renames on the same filesystem, tar's own semantics for names already
 * there (staged-scripts.ts). /tmp holds a few parts at a time, never the whole archive.
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
import { discardScript, finalScript, firstPartScript, partScript, wholeScript } from './staged-scripts.ts';
import type { StagedPaths } from './staged-scripts.ts';

/** One supervisor request carries at most 4 MiB: a file goes in as requests just under that. */
const REQUEST_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** A part is closed at the first entry's end past this: a part of small files is one request. */
const PART_BYTES = REQUEST_BYTES - TAR_END.length;
/**
 * Write requests not yet answered: enough that the channel never waits for the host, few enough that
 * the host holds little besides the part being gathered.
 */
const REQUESTS_IN_FLIGHT = 2;
/** Parts written (or being written) and not yet unpacked: past this, checking waits for the sandbox. */
const PARTS_WAITING = 3;
/**
 * Part files, reused in turn: a part is written over one unpacked before (never over one waiting), so
 * no process is spent removing each; /tmp holds at most this many parts.
 */
const SLOTS = PARTS_WAITING + 1;
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

/** `pieces` in groups of at most `size` bytes (a piece split where a group ends). */
function grouped(pieces: readonly Buffer[], size: number): Buffer[][] {
  const groups: Buffer[][] = [];
  let group: Buffer[] = [];
  let bytes = 0;
  for (let piece of pieces) {
    while (piece.length > 0) {
      const take = Math.min(piece.length, size - bytes);
      group.push(take < piece.length ? piece.subarray(0, take) : piece);
      piece = piece.subarray(take);
      bytes += take;
      if (bytes === size) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
    }
  }
  if (group.length > 0 || groups.length === 0) groups.push(group);
  return groups;
}

export function createStaging(sessions: Work, session: LiveSession, dir: string): Staging {
  const done = sessions.beginWork(session);
  const id = randomUUID();
  const paths: StagedPaths = {
    dir,
    parts: `/tmp/.airlock-archive-${id}`,
    staging: `${dir === '/' ? '' : dir}/.airlock-incoming-${id}`,
  };
  let held: Buffer[] = [];
  let heldBytes = 0;
  /** Copies of the directory entries not yet sent: their modes and mtimes are set again, last. */
  let directories: Buffer[] = [];
  let directoryBytes = 0;
  let directoriesSent = false;
  const directoryWrites: Array<Promise<void>> = [];
  const directoriesFile = `${paths.parts}/directories.tar`;
  let parts = 0;
  let requested = false;
  const requests: Array<Promise<void>> = [];
  const waiting: Array<Promise<void>> = [];
  /** The parts' unpacks, one after the other (a later entry may replace an earlier one); never rejects. */
  let unpacked: Promise<void> = Promise.resolve();
  /** The first directory of `dir` this copy made (removed again when refused), once the first part is in. */
  let madeTop: string | null = null;
  let failure: unknown = null;
  let stopped = false;
  let finished = false;
  const exec = (script: string) =>
    session.sandbox.exec(script, { timeoutMs: ARCHIVE_TIMEOUT_MS, signal: session.ending.signal });

  /**
   * Sends `pieces` as the file `file` (or after what it holds, `append`), request by request; resolves
   * when sent, with their answers.
   */
  const sendFile = async (
    file: string,
    pieces: readonly Buffer[],
    append = false,
  ): Promise<Array<Promise<void>>> => {
    const answers: Array<Promise<void>> = [];
    for (const group of grouped(pieces, REQUEST_BYTES)) {
      // Requests are served one after the other: the appends land in the order sent.
      const answer = session.sandbox.writeFile(file, group, {
        createParents: true,
        mode: 0o600,
        append: append || answers.length > 0,
      });
      // Awaited below; this only keeps a failure from counting as unhandled meanwhile.
      answer.catch(() => undefined);
      requested = true;
      answers.push(answer);
      requests.push(answer);
      while (requests.length > REQUESTS_IN_FLIGHT) await requests.shift();
    }
    return answers;
  };
  /** The directory headers gathered so far, after those sent before (and, at the end, the end marker). */
  const sendDirectories = async (end: boolean): Promise<Array<Promise<void>>> => {
    const pieces = end ? [...directories, TAR_END] : directories;
    directories = [];
    directoryBytes = 0;
    const answers = await sendFile(directoriesFile, pieces, directoriesSent);
    directoriesSent = true;
    return answers;
  };
  const takeHeld = (): Buffer[] => {
    const taken = held;
    held = [];
    heldBytes = 0;
    return taken;
  };
  /** Closes the part gathered so far: written, then unpacked into staging after the parts before it. */
  const closePart = async (): Promise<void> => {
    const index = parts;
    parts += 1;
    const file = `${paths.parts}/${index % SLOTS}.tar`;
    const answers = await sendFile(file, [...takeHeld(), TAR_END]);
    const step = async (): Promise<void> => {
      await Promise.all(answers);
      if (stopped || failure !== null) return;
      const result = await exec(index === 0 ? firstPartScript(paths, file) : partScript(paths, file));
      if (index === 0 && result.stdout !== '') madeTop = result.stdout;
      if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
    };
    unpacked = unpacked.then(step).catch((error: unknown) => {
      failure ??= error;
    });
    waiting.push(unpacked);
    while (waiting.length > PARTS_WAITING) await waiting.shift();
    if (failure !== null) throw failure;
  };
  const finish = (): void => {
    if (!finished) done();
    finished = true;
  };
  const discard = async (): Promise<void> => {
    stopped = true;
    takeHeld();
    try {
      await Promise.allSettled(requests.splice(0));
      await unpacked;
      if (requested && !session.ending.signal.aborted)
        await exec(discardScript(paths, madeTop)).catch(() => undefined);
    } finally {
      finish();
    }
  };
  /** The last part and the move into place. */
  const complete = async (): Promise<void> => {
    if (parts === 0) {
      // All of it in one part: unpacked straight into place by one tar, nothing staged.
      const file = `${paths.parts}/0.tar`;
      await Promise.all(await sendFile(file, [...takeHeld(), TAR_END]));
      const result = await exec(wholeScript(paths, file));
      if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
      return;
    }
    const last = `${paths.parts}/${parts % SLOTS}.tar`;
    await Promise.all([
      ...(await sendFile(last, [...takeHeld(), TAR_END])),
      ...directoryWrites.splice(0),
      ...(await sendDirectories(true)),
    ]);
    await unpacked;
    if (failure !== null) throw failure;
    const result = await exec(finalScript(paths, last, directoriesFile));
    if (result.exitCode !== 0) throw failed('unpack into', dir, result.stderr, result.exitCode);
  };
  return {
    async write(pieces, kind) {
      if (failure !== null) throw failure;
      // Each part ends itself; the archive's own end marker is not needed.
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
