import type { Readable, Writable } from 'node:stream';
import { AirlockError } from '../../errors/index.ts';
import {
  FrameDecoder,
  MAX_REQUEST_PAYLOAD_BYTES,
  PROTOCOL_VERSION,
  decodeEntries,
  decodeError,
  decodeExited,
  encodeExec,
  encodeFrame,
  encodeList,
  encodeReadFile,
  encodeWriteFile,
  replyTypes,
  requestTypes,
  writeFlags,
} from './protocol.ts';
import type { ErrorInfo, ExecRequest, ExitInfo, FileEntry, Frame } from './protocol.ts';

interface Pending {
  onFrame(frame: Frame): void;
  fail(error: Error): void;
}

export interface ExecHandlers {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

export class SupervisorRequestError extends Error {
  readonly errno: number;
  constructor(info: ErrorInfo) {
    super(info.message);
    this.name = 'SupervisorRequestError';
    this.errno = info.errno;
  }
}

const ENOENT = 2;
const E2BIG = 7;
const EFBIG = 27;

/** Talks to one supervisor over its stdin/stdout; one instance per sandbox. */
export class SupervisorClient {
  readonly #input: Writable;
  readonly #output: Readable;
  #pausedBy = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #decoder = new FrameDecoder(MAX_REQUEST_PAYLOAD_BYTES);
  #nextId = 1;
  #closedError: Error | undefined;
  readonly ready: Promise<void>;

  /**
   * `resumeAt`: the supervisor is a restored checkpoint, already past its ready frame, whose earlier
   * client used request ids below this one (background commands may still hold them).
   */
  constructor(input: Writable, output: Readable, options: { resumeAt?: number } = {}) {
    this.#input = input;
    this.#output = output;
    let resolveReady: () => void = () => {};
    let rejectReady: (error: Error) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    if (options.resumeAt !== undefined) {
      this.#nextId = options.resumeAt;
      resolveReady();
    } else {
      this.#pending.set(0, {
        onFrame: (frame) => {
          this.#pending.delete(0);
          const version = frame.payload.length >= 4 ? frame.payload.readUInt32LE(0) : -1;
          if (frame.type === replyTypes.ready && version === PROTOCOL_VERSION) resolveReady();
          else rejectReady(new Error(`supervisor speaks protocol ${version}, expected ${PROTOCOL_VERSION}`));
        },
        fail: rejectReady,
      });
    }
    output.on('data', (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = this.#decoder.push(chunk);
      } catch (error) {
        this.close(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      for (const frame of frames) this.#pending.get(frame.id)?.onFrame(frame);
    });
    output.on('close', () => this.close(new Error('the sandbox supervisor exited')));
    input.on('error', (error) => this.close(error));
  }

  /**
   * Stops reading the supervisor until every pauser resumed. The supervisor then blocks on its
   * full pipe and stops reading the commands' output, so a slow consumer slows the command down
   * instead of making the host buffer without bound.
   */
  pauseOutput(): () => void {
    this.#pausedBy += 1;
    this.#output.pause();
    let resumed = false;
    return () => {
      if (resumed) return;
      resumed = true;
      this.#pausedBy -= 1;
      if (this.#pausedBy === 0) this.#output.resume();
    };
  }

  /** The id the next request will use; a checkpoint records it so a restored client goes on from it. */
  get nextRequestId(): number {
    return this.#nextId;
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  close(reason: Error): void {
    if (this.#closedError) return;
    this.#closedError = reason;
    const lost = new AirlockError(
      'SANDBOX_LOST',
      `the sandbox is gone: ${reason.message}`,
      {},
      { cause: reason },
    );
    for (const pending of this.#pending.values()) pending.fail(lost);
    this.#pending.clear();
  }

  #request(type: number, payload: Buffer, pending: (id: number) => Pending): number {
    if (this.#closedError) {
      throw new AirlockError('SANDBOX_LOST', `the sandbox is gone: ${this.#closedError.message}`);
    }
    const id = this.#nextId++;
    this.#pending.set(id, pending(id));
    this.#input.write(encodeFrame(type, id, payload));
    return id;
  }

  #collect(type: number, payload: Buffer): Promise<{ data: Buffer[]; ok: Buffer }> {
    return new Promise((resolve, reject) => {
      try {
        this.#request(type, payload, (id) => {
          const data: Buffer[] = [];
          return {
            onFrame: (frame) => {
              if (frame.type === replyTypes.data) {
                data.push(frame.payload);
                return;
              }
              this.#pending.delete(id);
              if (frame.type === replyTypes.ok) resolve({ data, ok: frame.payload });
              else reject(new SupervisorRequestError(decodeError(frame.payload)));
            },
            fail: reject,
          };
        });
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  /** Starts a command; `exited` settles when it ends (or rejects when it could not start). */
  exec(request: ExecRequest, handlers: ExecHandlers): { id: number; exited: Promise<ExitInfo> } {
    let id = 0;
    const exited = new Promise<ExitInfo>((resolve, reject) => {
      id = this.#request(requestTypes.exec, encodeExec(request), (requestId) => ({
        onFrame: (frame) => {
          switch (frame.type) {
            case replyTypes.stdout:
              handlers.onStdout(frame.payload);
              return;
            case replyTypes.stderr:
              handlers.onStderr(frame.payload);
              return;
            case replyTypes.exited:
              this.#pending.delete(requestId);
              resolve(decodeExited(frame.payload));
              return;
            case replyTypes.error:
              this.#pending.delete(requestId);
              reject(new SupervisorRequestError(decodeError(frame.payload)));
              return;
            // `started` and the `ok` of a kill need no action.
          }
        },
        fail: reject,
      }));
    });
    return { id, exited };
  }

  /** Kills a command's whole process tree, background processes included. */
  kill(commandId: number): void {
    // Sent under the command's own id; the supervisor's "ok" lands on the exec and is ignored.
    if (!this.#closedError) this.#input.write(encodeFrame(requestTypes.kill, commandId));
  }

  async readFile(path: string, maxBytes: number): Promise<Buffer> {
    try {
      const { data } = await this.#collect(requestTypes.readFile, encodeReadFile(path, maxBytes));
      return Buffer.concat(data);
    } catch (error) {
      throw translateFileError(error, path, maxBytes);
    }
  }

  async writeFile(path: string, data: Buffer, mode: number, createParents: boolean): Promise<void> {
    // Large files go in chunks: the first truncates, the rest append.
    const chunkBytes = MAX_REQUEST_PAYLOAD_BYTES - 64 * 1024;
    let offset = 0;
    try {
      do {
        const chunk = data.subarray(offset, offset + chunkBytes);
        const flags = (createParents ? writeFlags.createParents : 0) | (offset > 0 ? writeFlags.append : 0);
        await this.#collect(requestTypes.writeFile, encodeWriteFile(path, mode, flags, chunk));
        offset += chunk.length;
      } while (offset < data.length);
    } catch (error) {
      throw translateFileError(error, path, data.length);
    }
  }

  async list(path: string, maxEntries: number): Promise<FileEntry[]> {
    try {
      const { data } = await this.#collect(requestTypes.list, encodeList(path, maxEntries));
      return data.flatMap((payload) => decodeEntries(payload));
    } catch (error) {
      if (error instanceof SupervisorRequestError && error.errno === E2BIG) {
        throw new AirlockError(
          'LIMIT_REACHED',
          `${path} has more than ${maxEntries} entries; list a subdirectory`,
          {
            path,
            limit: 'entries',
            maxEntries,
          },
        );
      }
      throw translateFileError(error, path, 0);
    }
  }
}

const ELOOP = 40;
const ENOTDIR = 20;

function translateFileError(error: unknown, path: string, sizeBytes: number): unknown {
  if (!(error instanceof SupervisorRequestError)) return error;
  if (error.errno === ENOENT)
    return new AirlockError('NOT_FOUND', `${path}: no such file or directory`, { path });
  if (error.errno === EFBIG) {
    return new AirlockError('FILE_TOO_LARGE', `${path}: file is larger than the limit`, { path, sizeBytes });
  }
  if (error.errno === ELOOP || error.errno === ENOTDIR) {
    // O_NOFOLLOW on every component: a symlink anywhere in the path is refused, not followed.
    return new AirlockError(
      'PATH_OUTSIDE_SANDBOX',
      `${path}: the path goes through a symlink; refusing to follow it`,
      {
        path,
      },
    );
  }
  return new AirlockError('INVALID_ARGUMENT', `${path}: ${error.message}`, { path, errno: error.errno });
}
