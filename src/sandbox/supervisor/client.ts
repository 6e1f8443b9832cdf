import type { Readable, Writable } from 'node:stream';
import { AirlockError } from '../../errors/index.ts';
import {
  PROTOCOL_VERSION,
  encodeExec,
  encodeFrame,
  encodeFrameParts,
  encodeResize,
  MAX_INPUT_BYTES,
  replyTypes,
  requestTypes,
} from './protocol.ts';
import type { ExecRequest, Frame } from './protocol.ts';
import { FrameDecoder, decodeError, decodeExited, decodeReady } from './reply-decoder.ts';
import type { Decoded, ExitInfo, FileEntry, SupervisorFacts } from './reply-decoder.ts';
import { SupervisorRequestError } from './request-error.ts';
import { listRequest, readFileRequest, writeFileRequest } from './file-requests.ts';
import type { CollectedRequest, WriteFileRequestOptions } from './file-requests.ts';
import type { ExecHandlers, ExecInput } from './exec-channel.ts';

/**
 * A request waiting for replies. `onFrame` returns a problem when the frame cannot be a reply to
 * this request: the supervisor broke the protocol, and the sandbox is ended for it.
 */
interface Pending {
  onFrame(frame: Frame): string | undefined;
  fail(error: Error): void;
}

export interface SupervisorClientOptions {
  /**
   * The supervisor is a restored checkpoint, already past its ready frame, whose earlier client used
   * request ids below this one (background commands may still hold them).
   */
  resumeAt?: number;
}

const replyNames = new Map<number, string>(Object.entries(replyTypes).map(([name, type]) => [type, name]));

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Talks to one supervisor over its stdin/stdout; one instance per sandbox. Every reply is untrusted
 * (a command may have taken the supervisor over): a reply that breaks the protocol closes the
 * channel, fails every request with SANDBOX_LOST and resolves `violated`, on which the sandbox is
 * ended. What is buffered stays bounded: one partial frame (reply-decoder.ts), and the data of one
 * file read or listing at a time, capped at what that request allows; the supervisor serves
 * requests one after the other, so data of two requests interleaved is itself a violation.
 */
export class SupervisorClient {
  readonly #input: Writable;
  readonly #output: Readable;
  #pausedBy = 0;
  readonly #pending = new Map<number, Pending>();
  readonly #decoder = new FrameDecoder();
  #nextId = 1;
  #closedError: Error | undefined;
  /** The request whose DATA frames are arriving, if any. */
  #collecting: number | undefined;
  #violation: ((error: AirlockError) => void) | undefined;
  #facts: SupervisorFacts | undefined;
  readonly ready: Promise<void>;
  /** Settles (never rejects) when the supervisor breaks the protocol; the channel is closed by then. */
  readonly violated: Promise<AirlockError>;

  constructor(input: Writable, output: Readable, options: SupervisorClientOptions = {}) {
    this.#input = input;
    this.#output = output;
    this.violated = new Promise((resolve) => {
      this.#violation = resolve;
    });
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
          if (frame.type !== replyTypes.ready) return `a ${replyNames.get(frame.type)} reply before ready`;
          const ready = decodeReady(frame.payload);
          if (!ready.ok) return ready.problem;
          this.#pending.delete(0);
          const { version, facts } = ready.value;
          if (version !== PROTOCOL_VERSION) {
            rejectReady(new Error(`supervisor speaks protocol ${version}, expected ${PROTOCOL_VERSION}`));
            return undefined;
          }
          this.#facts = facts;
          resolveReady();
          return undefined;
        },
        fail: rejectReady,
      });
    }
    // No exception may leave these handlers: it would reach the process and end every session.
    output.on('data', (chunk: Buffer) => {
      try {
        this.#onData(chunk);
      } catch (error) {
        this.#violate(`an unreadable reply (${asError(error).message})`);
      }
    });
    output.on('error', (error: Error) => this.close(error));
    output.on('close', () => this.close(new Error('the sandbox supervisor exited')));
    input.on('error', (error: Error) => this.close(error));
  }

  #onData(chunk: Buffer): void {
    if (this.#closedError) return;
    const { frames, problem } = this.#decoder.push(chunk);
    for (const frame of frames) {
      const frameProblem = this.#dispatch(frame);
      if (frameProblem !== undefined) return this.#violate(frameProblem);
      if (this.#closedError) return;
    }
    if (problem !== undefined) this.#violate(problem);
  }

  #dispatch(frame: Frame): string | undefined {
    // Ids are ours: the supervisor answers only requests it was sent (id 0 is its ready frame).
    if (frame.id >= this.#nextId) return `a reply to request ${frame.id}, which was never sent`;
    const pending = this.#pending.get(frame.id);
    // A request already answered: the acknowledgement of a kill that raced the command's end.
    if (!pending) return frame.id === 0 ? 'a second ready frame' : undefined;
    try {
      return pending.onFrame(frame);
    } catch (error) {
      // A consumer of this request failed (an output sink that threw): only this request fails.
      this.#finish(frame.id);
      pending.fail(asError(error));
      return undefined;
    }
  }

  #violate(problem: string): void {
    if (this.#closedError) return;
    const error = new AirlockError(
      'SANDBOX_LOST',
      `the sandbox broke the supervisor protocol (${problem}) and was ended`,
      { reason: 'protocol_violation', problem },
    );
    this.#closeWith(error, error);
    // Whatever still arrives is discarded until the driver has killed the sandbox.
    this.#output.resume();
    this.#violation?.(error);
  }

  #finish(id: number): void {
    this.#pending.delete(id);
    if (this.#collecting === id) this.#collecting = undefined;
  }

  /** A DATA frame of request `id`: a problem if another request's data is still arriving. */
  #collect(id: number): string | undefined {
    if (this.#collecting !== undefined && this.#collecting !== id) {
      return `data for request ${id} while request ${this.#collecting} was still being answered`;
    }
    this.#collecting = id;
    return undefined;
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
      if (this.#pausedBy === 0 && !this.#closedError) this.#output.resume();
    };
  }

  /** What the supervisor reported in its ready frame; undefined before it, and for a restored one. */
  get facts(): SupervisorFacts | undefined {
    return this.#facts;
  }

  /** The id the next request will use; a checkpoint records it so a restored client goes on from it. */
  get nextRequestId(): number {
    return this.#nextId;
  }

  get closed(): boolean {
    return this.#closedError !== undefined;
  }

  close(reason: Error): void {
    this.#closeWith(
      reason,
      new AirlockError('SANDBOX_LOST', `the sandbox is gone: ${reason.message}`, {}, { cause: reason }),
    );
  }

  #closeWith(reason: Error, lost: AirlockError): void {
    if (this.#closedError) return;
    this.#closedError = reason;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    this.#collecting = undefined;
    for (const request of pending) request.fail(lost);
  }

  #request(type: number, payload: Buffer | readonly Buffer[], pending: (id: number) => Pending): number {
    if (this.#closedError) {
      throw new AirlockError('SANDBOX_LOST', `the sandbox is gone: ${this.#closedError.message}`);
    }
    const frame = encodeFrameParts(type, this.#nextId, Buffer.isBuffer(payload) ? [payload] : payload);
    const id = this.#nextId++;
    this.#pending.set(id, pending(id));
    this.#writeFrame(frame);
    return id;
  }

  /** Corked: a frame's pieces leave in one gathered write, never copied into one buffer. */
  #writeFrame(frame: readonly Buffer[]): void {
    this.#input.cork();
    for (const piece of frame) if (piece.length > 0) this.#input.write(piece);
    this.#input.uncork();
  }

  readonly #collectedRequest: CollectedRequest = (type, payload, reply) =>
    this.#collected(type, payload, reply);

  /** A request answered by DATA frames (appended by `onData`) and then OK or ERROR. */
  #collected<T>(
    type: number,
    payload: Buffer | readonly Buffer[],
    reply: {
      onData(data: Buffer): string | undefined;
      onOk(payload: Buffer): Decoded<T>;
    },
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      try {
        this.#request(type, payload, (id) => ({
          onFrame: (frame) => {
            if (frame.type === replyTypes.data) return this.#collect(id) ?? reply.onData(frame.payload);
            if (frame.type === replyTypes.ok) {
              const result = reply.onOk(frame.payload);
              if (!result.ok) return result.problem;
              this.#finish(id);
              resolve(result.value);
              return undefined;
            }
            if (frame.type === replyTypes.error) return this.#rejectWith(id, frame, reject);
            return `a ${replyNames.get(frame.type)} reply to a file request`;
          },
          fail: reject,
        }));
      } catch (error) {
        reject(asError(error));
      }
    });
  }

  #rejectWith(id: number, frame: Frame, reject: (error: Error) => void): string | undefined {
    const info = decodeError(frame.payload);
    if (!info.ok) return info.problem;
    this.#finish(id);
    reject(new SupervisorRequestError(info.value));
    return undefined;
  }

  /** Starts a command; `exited` settles when it ends (or rejects when it could not start). */
  exec(
    request: ExecRequest,
    handlers: ExecHandlers,
  ): { id: number; exited: Promise<ExitInfo>; input: ExecInput } {
    let id = 0;
    // The one INPUT frame in flight, answered by an OK with a u32 (bytes written).
    let inputWaiter: ((written: number) => void) | undefined;
    let ended = false;
    const settleInput = (written: number): void => {
      const waiter = inputWaiter;
      inputWaiter = undefined;
      waiter?.(written);
    };
    const exited = new Promise<ExitInfo>((resolve, reject) => {
      id = this.#request(requestTypes.exec, encodeExec(request), (requestId) => ({
        onFrame: (frame) => {
          switch (frame.type) {
            case replyTypes.stdout:
              handlers.onStdout(frame.payload);
              return undefined;
            case replyTypes.stderr:
              handlers.onStderr(frame.payload);
              return undefined;
            case replyTypes.exited: {
              const exit = decodeExited(frame.payload);
              if (!exit.ok) return exit.problem;
              this.#finish(requestId);
              ended = true;
              settleInput(0);
              resolve(exit.value);
              return undefined;
            }
            case replyTypes.error:
              return this.#rejectWith(requestId, frame, reject);
            case replyTypes.started:
              return undefined; // the keeper's pid: nothing to do with it
            case replyTypes.ok: {
              // Acknowledges a kill or a resize, which are sent under the command's own id.
              if (frame.payload.length === 0) return undefined;
              // Or an INPUT frame: only one is ever in flight, and no more is written than was sent.
              if (frame.payload.length !== 4) return 'an acknowledgement of the wrong size';
              if (inputWaiter === undefined) return 'an input acknowledgement with no input sent';
              const written = frame.payload.readUInt32LE(0);
              if (written > inputSent)
                return `an input acknowledgement of ${written} bytes after ${inputSent}`;
              settleInput(written);
              return undefined;
            }
            default:
              return `a ${replyNames.get(frame.type)} reply to a command`;
          }
        },
        fail: (error) => {
          ended = true;
          settleInput(0);
          reject(error);
        },
      }));
    });
    let inputSent = 0;
    const input: ExecInput = {
      write: (data) => {
        const pieces = Buffer.isBuffer(data) ? [data] : data;
        const length = pieces.reduce((sum, piece) => sum + piece.length, 0);
        if (length > MAX_INPUT_BYTES)
          return Promise.reject(new RangeError(`input of ${length} bytes is over ${MAX_INPUT_BYTES}`));
        if (inputWaiter !== undefined) return Promise.reject(new Error('one input write at a time'));
        if (ended || this.#closedError) return Promise.resolve(0);
        inputSent = length;
        return new Promise<number>((resolve) => {
          inputWaiter = resolve;
          this.#writeFrame(encodeFrameParts(requestTypes.input, id, pieces));
        });
      },
      resize: (cols, rows) => {
        if (!ended && !this.#closedError)
          this.#input.write(encodeFrame(requestTypes.resize, id, encodeResize(cols, rows)));
      },
    };
    return { id, exited, input };
  }

  /** Kills a command's whole process tree, background processes included. */
  kill(commandId: number): void {
    // Sent under the command's own id; the supervisor's "ok" lands on the exec and is ignored.
    if (!this.#closedError) this.#input.write(encodeFrame(requestTypes.kill, commandId));
  }

  readFile(path: string, maxBytes: number): Promise<Buffer> {
    return readFileRequest(this.#collectedRequest, path, maxBytes);
  }

  /**
   * Writes `data` (its pieces in order; not copied, so unchanged until this settles). A write may be
   * sent before an earlier one is answered: the supervisor serves requests in the order sent, so
   * writes of at most one request's data each (a larger one goes as several) land in that order.
   */
  writeFile(path: string, data: readonly Buffer[], options: WriteFileRequestOptions): Promise<void> {
    return writeFileRequest(this.#collectedRequest, path, data, options);
  }

  list(path: string, maxEntries: number): Promise<FileEntry[]> {
    return listRequest(this.#collectedRequest, path, maxEntries);
  }
}

/*
 * Security limitations
 * - A reply that is well formed, in order and within every bound is believed: a command that took
 *   over the supervisor could forge its own session's results within the protocol. Keeping commands
 *   from the supervisor is what prevents that (native/command-identity.c); the checks here keep a
 *   forgery, or a broken supervisor, from reaching past its own sandbox.
 */
