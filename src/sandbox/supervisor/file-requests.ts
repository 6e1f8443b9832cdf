/**
 * The file requests (read, write, list) over a supervisor's channel: each reply's data is bounded by
 * what the request allows, since a command may have taken the supervisor over and forge replies.
 */
import { AirlockError } from '../../errors/index.ts';
import {
  MAX_REQUEST_PAYLOAD_BYTES,
  encodeList,
  encodeReadFile,
  encodeWriteFileHead,
  requestTypes,
  writeFlags,
} from './protocol.ts';
import { decodeEntries, decodeReadTotal } from './reply-decoder.ts';
import type { Decoded, FileEntry } from './reply-decoder.ts';
import { errnos, isRequestError, translateFileError } from './request-error.ts';

/**
 * Sends a request answered by DATA frames (appended by `onData`) and then OK or ERROR; a payload given
 * as pieces goes out as they are, in one gathered write.
 */
export type CollectedRequest = <T>(
  type: number,
  payload: Buffer | readonly Buffer[],
  reply: {
    onData(data: Buffer): string | undefined;
    onOk(payload: Buffer): Decoded<T>;
  },
) => Promise<T>;

export async function readFileRequest(
  collected: CollectedRequest,
  path: string,
  maxBytes: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    return await collected(requestTypes.readFile, encodeReadFile(path, maxBytes), {
      onData: (data) => {
        received += data.length;
        // The supervisor refuses files over maxBytes itself: more data than that is forged.
        if (received > maxBytes) return `more than the ${maxBytes} bytes asked for`;
        chunks.push(data);
        return undefined;
      },
      onOk: (payload) => {
        const total = decodeReadTotal(payload);
        if (!total.ok) return total;
        if (total.value !== received) return fail(`a read total of ${total.value} after ${received} bytes`);
        return { ok: true, value: Buffer.concat(chunks, received) };
      },
    });
  } catch (error) {
    throw translateFileError(error, path, maxBytes);
  }
}

export interface WriteFileRequestOptions {
  readonly mode: number;
  readonly createParents: boolean;
  /** Added at the end of the file instead of replacing it. */
  readonly append: boolean;
}

/** `data` split into runs of at most `maxBytes` (views of it, nothing copied); one empty run for none. */
function* runsOf(data: readonly Buffer[], maxBytes: number): Generator<Buffer[]> {
  let run: Buffer[] = [];
  let runBytes = 0;
  for (let piece of data) {
    while (piece.length > 0) {
      const take = Math.min(piece.length, maxBytes - runBytes);
      run.push(take === piece.length ? piece : piece.subarray(0, take));
      runBytes += take;
      piece = piece.subarray(take);
      if (runBytes === maxBytes) {
        yield run;
        run = [];
        runBytes = 0;
      }
    }
  }
  if (runBytes > 0 || run.length === 0) yield run;
}

/** Writes `data` (its pieces in order, not copied: unchanged until this settles) to `path`. */
export async function writeFileRequest(
  collected: CollectedRequest,
  path: string,
  data: readonly Buffer[],
  options: WriteFileRequestOptions,
): Promise<void> {
  // Large files go in chunks: the first truncates (unless appending), the rest append.
  const chunkBytes = MAX_REQUEST_PAYLOAD_BYTES - 64 * 1024;
  let total = 0;
  for (const piece of data) total += piece.length;
  let append = options.append;
  try {
    for (const run of runsOf(data, chunkBytes)) {
      const flags = (options.createParents ? writeFlags.createParents : 0) | (append ? writeFlags.append : 0);
      await collected(requestTypes.writeFile, [encodeWriteFileHead(path, options.mode, flags), ...run], {
        onData: () => 'data in reply to a file write',
        onOk: (payload) => (payload.length === 0 ? { ok: true, value: undefined } : fail('a write total')),
      });
      append = true;
    }
  } catch (error) {
    throw translateFileError(error, path, total);
  }
}

export async function listRequest(
  collected: CollectedRequest,
  path: string,
  maxEntries: number,
): Promise<FileEntry[]> {
  const entries: FileEntry[] = [];
  try {
    return await collected(requestTypes.list, encodeList(path, maxEntries), {
      onData: (data) => {
        // The supervisor stops at maxEntries with E2BIG: more entries than that are forged.
        const decoded = decodeEntries(data, maxEntries - entries.length);
        if (!decoded.ok) return decoded.problem;
        entries.push(...decoded.value);
        return undefined;
      },
      onOk: (payload) => (payload.length === 0 ? { ok: true, value: entries } : fail('a listing total')),
    });
  } catch (error) {
    if (isRequestError(error, errnos.E2BIG)) {
      throw new AirlockError(
        'LIMIT_REACHED',
        `${path} has more than ${maxEntries} entries; list a subdirectory`,
        { path, limit: 'entries', maxEntries },
      );
    }
    throw translateFileError(error, path, 0);
  }
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem };
}
