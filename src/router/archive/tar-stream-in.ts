/**
 * One `tar -x` in the sandbox reading a checked archive on its stdin, part after part, into the
 * staging directory (staged-parts.ts says why and what happens around it). Each part goes in input
 * frames of up to 4 MiB, one at a time: a frame is answered once the tar's stdin took it, so the host
 * runs at most PARTS_WAITING parts ahead of the tar and never holds more.
 */
import { MAX_INPUT_BYTES } from '../../sandbox/index.ts';
import type { ExecInput, ExecResult } from '../../sandbox/index.ts';
import type { LiveSession } from '../../sessions/index.ts';
import { ARCHIVE_TIMEOUT_MS, failed } from './sandbox-tar.ts';
import { prepareScript, streamScript } from './staged-scripts.ts';
import type { StagedPaths } from './staged-scripts.ts';

/** One input frame carries at most this. */
export const FRAME_BYTES = MAX_INPUT_BYTES;
/**
 * Parts handed to the sandbox's tar and not yet taken by it: past this, checking waits for the
 * sandbox. The supervisor holds one input frame at a time; the host the rest of these.
 */
const PARTS_WAITING = 2;

export interface TarStreamIn {
  /** Hands `part` to the tar after the parts before it; waits while too many wait. */
  send(part: readonly Buffer[]): Promise<void>;
  /** Ends the tar's input and waits for it to finish; throws what stopped it. */
  finish(): Promise<void>;
  /** Stops the tar (a refused or denied copy) and waits for it. */
  stop(): Promise<void>;
  /** Whether anything was made in the sandbox (the staging directory, the destination). */
  readonly started: boolean;
  /** The first directory of the destination this copy made, once started: a refused copy removes it. */
  readonly madeTop: string | null;
}

/** `pieces` in groups of at most `size` bytes (a piece split where a group ends). */
export function grouped(pieces: readonly Buffer[], size: number): Buffer[][] {
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

export function createTarStreamIn(session: LiveSession, paths: StagedPaths): TarStreamIn {
  const { dir } = paths;
  const waiting: Array<Promise<void>> = [];
  /** The parts handed on, one after the other; never rejects (a failure is kept in `failure`). */
  let sent: Promise<void> = Promise.resolve();
  let stream: Promise<ExecResult> | null = null;
  let input: ExecInput | null = null;
  let madeTop: string | null = null;
  /** Set as soon as anything may have been made in the sandbox. */
  let began = false;
  let failure: unknown = null;
  let stopped = false;
  const stopStream = new AbortController();

  /**
   * Started with the first part: the destination and the staging directory made first (noting what a
   * refused copy must undo), then one tar on stdin.
   */
  const start = async (): Promise<ExecInput> => {
    began = true;
    const prepared = await session.sandbox.exec(prepareScript(paths), {
      timeoutMs: ARCHIVE_TIMEOUT_MS,
      signal: session.ending.signal,
    });
    if (prepared.stdout !== '') madeTop = prepared.stdout;
    if (prepared.exitCode !== 0) throw failed('unpack into', dir, prepared.stderr, prepared.exitCode);
    return new Promise<ExecInput>((resolve, reject) => {
      const started = session.sandbox.exec(streamScript(paths), {
        timeoutMs: ARCHIVE_TIMEOUT_MS,
        signal: AbortSignal.any([session.ending.signal, stopStream.signal]),
        interactive: { attach: resolve },
      });
      stream = started;
      // Ended before its input was attached (it could not start): no part can go in. After that, the
      // tar's end shows as a short write, and its result is read then.
      started.then(
        () => reject(new Error(`the sandbox's tar ended before reading the archive into ${dir}`)),
        reject,
      );
    });
  };
  /** What stopped the tar, once it has ended: its exit and what it said. */
  const stopReason = async (): Promise<unknown> => {
    const result = await stream?.catch(() => null);
    return result != null && result.exitCode !== 0
      ? failed('unpack into', dir, result.stderr, result.exitCode)
      : new Error(`the sandbox's tar stopped reading the archive into ${dir}`);
  };

  return {
    get started() {
      return began;
    },
    get madeTop() {
      return madeTop;
    },
    async send(part) {
      const step = async (): Promise<void> => {
        if (stopped || failure !== null) return;
        input ??= await start();
        for (const group of grouped(part, FRAME_BYTES)) {
          const length = group.reduce((sum, piece) => sum + piece.length, 0);
          // Resolves once the tar's stdin took the frame: the next one goes after it.
          if ((await input.write(group)) < length) throw await stopReason();
        }
      };
      sent = sent.then(step).catch((error: unknown) => {
        failure ??= error;
      });
      waiting.push(sent);
      while (waiting.length > PARTS_WAITING) await waiting.shift();
      if (failure !== null) throw failure;
    },
    async finish() {
      await sent;
      if (failure !== null) throw failure;
      if (input !== null) await input.write(Buffer.alloc(0));
      const result = await stream?.catch(() => null);
      if (result == null || result.exitCode !== 0) throw await stopReason();
    },
    async stop() {
      stopped = true;
      stopStream.abort();
      await sent;
      await stream?.catch(() => undefined);
    },
  };
}
