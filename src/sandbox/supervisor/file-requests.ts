/**
 * The file requests (read, write, list) over a supervisor's channel: each reply's data is bounded by
 * what the request allows, since a command may have taken the supervisor over and forge replies.
 */
import { AirlockError } from '../../errors/index.ts';
import {
  MAX_REQUEST_PAYLOAD_BYTES,
  encodeList,
  encodeReadFile,
  encodeWriteFile,
  requestTypes,
  writeFlags,
} from './protocol.ts';
import { decodeEntries, decodeReadTotal } from './reply-decoder.ts';
import type { Decoded, FileEntry } from './reply-decoder.ts';
import { errnos, isRequestError, translateFileError } from './request-error.ts';

/** Sends a request answered by DATA frames (appended by `onData`) and then OK or ERROR. */
export type CollectedRequest = <T>(
  type: number,
  payload: Buffer,
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

export async function writeFileRequest(
  collected: CollectedRequest,
  path: string,
  data: Buffer,
  mode: number,
  createParents: boolean,
): Promise<void> {
  // Large files go in chunks: the first truncates, the rest append.
  const chunkBytes = MAX_REQUEST_PAYLOAD_BYTES - 64 * 1024;
  let offset = 0;
  try {
    do {
      const chunk = data.subarray(offset, offset + chunkBytes);
      const flags = (createParents ? writeFlags.createParents : 0) | (offset > 0 ? writeFlags.append : 0);
      await collected(requestTypes.writeFile, encodeWriteFile(path, mode, flags, chunk), {
        onData: () => 'data in reply to a file write',
        onOk: (payload) => (payload.length === 0 ? { ok: true, value: undefined } : fail('a write total')),
      });
      offset += chunk.length;
    } while (offset < data.length);
  } catch (error) {
    throw translateFileError(error, path, data.length);
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
