/**
 * Input to a running interactive command (a terminal, or a stdin kept open): what a person or agent
 * types goes to the sandbox one bounded frame at a time, and into the audit log, redacted, a line at
 * a time. Nothing typed is lost from the record: what has not ended a line yet is written when the
 * command ends.
 */
import { AirlockError } from '../errors/index.ts';
import type { ExecInput } from '../sandbox/index.ts';
import type { AuditEventInput } from '../store/index.ts';
import type { Redactor } from './shape/index.ts';

/** Bytes per frame to the sandbox (the supervisor's own bound). */
const FRAME_BYTES = 64 * 1024;
/** Input one call may send; more is a file to write and redirect. */
export const MAX_INPUT_CALL_BYTES = 1024 * 1024;
/** A terminal's most columns or rows (the supervisor's bound). */
const MAX_TERMINAL_SIZE = 1000;
/** Typed text kept for the audit log before it is written out even without a line end. */
const RECORD_CHARS = 4096;

export interface CommandInputChannel {
  /** Sends bytes to the command; resolves with how many it took (fewer once it has ended). */
  write(data: Uint8Array): Promise<number>;
  /** End of input (a pipe is closed; a terminal stays open: ^D ends input there). */
  end(): Promise<void>;
  resize(cols: number, rows: number): void;
  readonly pty: boolean;
}

export interface InputDeps {
  readonly redactor: Redactor;
  /** Writes one audit event (already redacted). */
  readonly record: (event: Pick<AuditEventInput, 'type' | 'data'>) => Promise<void>;
}

/** The channel of one command; `attach` is given the sandbox's input once the command is sent. */
export class InputChannel implements CommandInputChannel {
  readonly pty: boolean;
  readonly #deps: InputDeps;
  #input: ExecInput | undefined;
  #attached: Promise<ExecInput>;
  #resolveAttached: (input: ExecInput) => void = () => undefined;
  /** Writes run one after another: the sandbox takes one frame at a time. */
  #queue: Promise<unknown> = Promise.resolve();
  #typed = '';
  #closed = false;

  constructor(deps: InputDeps, pty: boolean) {
    this.#deps = deps;
    this.pty = pty;
    this.#attached = new Promise((resolve) => {
      this.#resolveAttached = resolve;
    });
  }

  attach(input: ExecInput): void {
    this.#input = input;
    this.#resolveAttached(input);
  }

  write(data: Uint8Array): Promise<number> {
    if (data.byteLength > MAX_INPUT_CALL_BYTES) {
      return Promise.reject(
        new AirlockError('INVALID_ARGUMENT', `input is at most ${MAX_INPUT_CALL_BYTES} bytes per call`, {
          field: 'input',
          limit: MAX_INPUT_CALL_BYTES,
        }),
      );
    }
    const work = this.#queue.then(() => this.#send(data));
    this.#queue = work.catch(() => undefined);
    return work;
  }

  async end(): Promise<void> {
    const work = this.#queue.then(async () => {
      if (this.#closed) return;
      await (await this.#attached).write(Buffer.alloc(0));
    });
    this.#queue = work.catch(() => undefined);
    await work;
  }

  resize(cols: number, rows: number): void {
    if (!this.pty) {
      throw new AirlockError('INVALID_ARGUMENT', 'only a command on a terminal (pty) can be resized', {
        field: 'pty',
      });
    }
    if (![cols, rows].every((value) => Number.isInteger(value) && value >= 1 && value <= MAX_TERMINAL_SIZE)) {
      throw new AirlockError('INVALID_ARGUMENT', `a terminal is 1 to ${MAX_TERMINAL_SIZE} columns and rows`, {
        field: 'pty',
      });
    }
    // Before the command is sent, the size is applied as soon as it is.
    if (this.#input !== undefined) this.#input.resize(cols, rows);
    else void this.#attached.then((input) => input.resize(cols, rows));
  }

  /** The command ended: nothing more is sent, and what was typed since the last line is recorded. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#resolveAttached({ write: () => Promise.resolve(0), resize: () => undefined });
    await this.#flush();
  }

  async #send(data: Uint8Array): Promise<number> {
    if (this.#closed) return 0;
    const input = await this.#attached;
    let written = 0;
    for (let offset = 0; offset < data.byteLength; offset += FRAME_BYTES) {
      const frame = Buffer.from(data.subarray(offset, offset + FRAME_BYTES));
      const took = await input.write(frame);
      written += took;
      // Only what the command took is recorded: the log says what reached it.
      await this.#remember(frame.subarray(0, took));
      if (took < frame.length) break;
    }
    return written;
  }

  async #remember(bytes: Buffer): Promise<void> {
    this.#typed += bytes.toString('utf8');
    if (/[\r\n]/.test(this.#typed) || this.#typed.length >= RECORD_CHARS) await this.#flush();
  }

  async #flush(): Promise<void> {
    const typed = this.#typed;
    this.#typed = '';
    for (let offset = 0; offset < typed.length; offset += RECORD_CHARS) {
      const text = typed.slice(offset, offset + RECORD_CHARS);
      // Redacted like any output: a secret typed at a prompt never reaches the log.
      await this.#deps.record({
        type: 'command.input',
        data: { text: this.#deps.redactor.redact(text).text, chars: text.length },
      });
    }
  }
}
