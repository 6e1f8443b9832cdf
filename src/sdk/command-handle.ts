/**
 * A command started without waiting: follow its output as it comes (`for await … of handle`), wait
 * for its end, read its state, or kill it.
 */
import { AirlockApiError, invalidResponse, isAirlockApiError } from './errors.ts';
import { deadlineSignal, sleep } from './signals.ts';
import type { CallOptions } from './signals.ts';
import { readSseEvents } from './sse.ts';
import type { Transport } from './transport.ts';
import { describeRequest } from './url.ts';
import type { OutputStream, RunResult, RunStatus } from './wire-types.ts';

export type CommandEvent =
  | { readonly type: 'output'; readonly stream: OutputStream; readonly text: string }
  | { readonly type: 'status'; readonly result: RunResult };

function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

/** Statuses after which nothing more happens to a command. */
const unfinishedStatuses: ReadonlySet<RunStatus> = new Set(['running', 'pending_approval']);

export function isFinished(result: RunResult): boolean {
  return !unfinishedStatuses.has(result.status);
}

/**
 * When an event stream closes before the final status while the command still runs (a proxy's idle
 * cut, a server restart), `wait()` reconnects after this pause, doubling up to the cap.
 */
const RECONNECT_FIRST_DELAY_MS = 250;
const RECONNECT_MAX_DELAY_MS = 5_000;

export class CommandHandle implements AsyncIterable<CommandEvent> {
  readonly id: string;
  readonly sessionId: string;
  /** The answer of the call that started the command, when this handle made it. */
  readonly started: RunResult | undefined;
  readonly #transport: Transport;

  constructor(
    transport: Transport,
    command: { readonly sessionId: string; readonly id: string; readonly started?: RunResult },
  ) {
    this.#transport = transport;
    this.id = command.id;
    this.sessionId = command.sessionId;
    this.started = command.started;
  }

  /** The command's state now (with its output so far while it runs). */
  result(options?: CallOptions): Promise<RunResult> {
    return this.#transport.json<RunResult>({ method: 'GET', path: this.#path() }, options);
  }

  /** Kills the command's whole process tree; the result's status is `killed` when it was running. */
  kill(options?: CallOptions): Promise<RunResult> {
    return this.#transport.json<RunResult>({ method: 'POST', path: [...this.#path(), 'kill'] }, options);
  }

  /**
   * Types into a command started with `interactive` (text as UTF-8); resolves with the bytes it
   * took. Recorded in the audit log, redacted.
   */
  async sendInput(data: string | Uint8Array, options?: CallOptions): Promise<number> {
    return (await this.#input(typeof data === 'string' ? { data } : { dataBase64: base64(data) }, options))
      .written;
  }

  /** Ends an interactive command's input (a pipe is closed; on a terminal, send "\x04" instead). */
  async endInput(options?: CallOptions): Promise<void> {
    await this.#input({ end: true }, options);
  }

  /** A new size for an interactive command's terminal. */
  async resize(cols: number, rows: number, options?: CallOptions): Promise<void> {
    await this.#input({ resize: { cols, rows } }, options);
  }

  #input(body: Record<string, unknown>, options?: CallOptions): Promise<{ written: number }> {
    return this.#transport.json<{ written: number }>(
      { method: 'POST', path: [...this.#path(), 'input'], json: body },
      options,
    );
  }

  /**
   * Output lines as they come, then one `status` event with the final result. Raises STREAM_INTERRUPTED
   * when the connection closes before the status (output may be missing: `result()` has it all).
   */
  async *events(options: CallOptions = {}): AsyncGenerator<CommandEvent, void, undefined> {
    if (this.started !== undefined && isFinished(this.started)) {
      yield { type: 'status', result: this.started };
      return;
    }
    let sawStatus = false;
    for await (const event of this.#stream(options)) {
      if (event.type === 'status') sawStatus = true;
      yield event;
    }
    if (!sawStatus) {
      throw new AirlockApiError({
        code: 'STREAM_INTERRUPTED',
        status: 0,
        message: `the event stream of ${this.id} closed before its final status`,
        request: describeRequest('GET', [...this.#path(), 'events']),
      });
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<CommandEvent> {
    return this.events();
  }

  /**
   * Waits for the end and returns the final result (a denial, a timeout and a non-zero exit are
   * results). `timeoutMs` bounds the wait only: the command goes on until its own limit or `kill()`.
   */
  async wait(options: CallOptions = {}): Promise<RunResult> {
    if (this.started !== undefined && isFinished(this.started)) return this.started;
    const signal = deadlineSignal(options.signal, options.timeoutMs);
    const callOptions = signal === undefined ? {} : { signal };
    let delayMs = RECONNECT_FIRST_DELAY_MS;
    for (;;) {
      try {
        for await (const event of this.#stream(callOptions)) {
          if (event.type === 'status' && isFinished(event.result)) return event.result;
        }
      } catch (error) {
        // A stream cut mid-answer (a proxy's idle cut, a server restart) asks the command's state
        // instead. When the server is really gone that request fails in turn, so this never spins.
        if (
          !isAirlockApiError(error, 'CONNECTION_FAILED') &&
          !isAirlockApiError(error, 'STREAM_INTERRUPTED')
        ) {
          throw error;
        }
      }
      const now = await this.result(callOptions);
      if (isFinished(now)) return now;
      await sleep(delayMs, signal, describeRequest('GET', [...this.#path(), 'events']));
      delayMs = Math.min(delayMs * 2, RECONNECT_MAX_DELAY_MS);
    }
  }

  #path(): string[] {
    return ['v1', 'sessions', this.sessionId, 'commands', this.id];
  }

  /** One connection to the event stream; ends after the status event or when the server closes. */
  async *#stream(options: CallOptions): AsyncGenerator<CommandEvent, void, undefined> {
    const { response, signal, request } = await this.#transport.open(
      { method: 'GET', path: [...this.#path(), 'events'], accept: 'text/event-stream', long: true },
      options,
    );
    const contentType = response.headers.get('content-type') ?? '';
    if (!contentType.includes('text/event-stream') || response.body === null) {
      await response.body?.cancel().catch(() => undefined);
      throw invalidResponse(
        request,
        response.status,
        `expected text/event-stream, got ${contentType || 'no body'}`,
      );
    }
    for await (const sse of readSseEvents(response.body, signal, request, response.status)) {
      const event = parseCommandEvent(sse.event, sse.data, request, response.status);
      if (event === undefined) continue;
      yield event;
      if (event.type === 'status') return;
    }
  }
}

/**
 * An SSE event as a CommandEvent; undefined for event types this SDK does not know (newer servers).
 * An `error` event (the server failed after the 200 was sent) is raised with the server's code.
 */
function parseCommandEvent(
  type: string,
  data: string,
  request: string,
  status: number,
): CommandEvent | undefined {
  if (type !== 'output' && type !== 'status' && type !== 'error') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch (cause) {
    throw invalidResponse(request, status, `the data of a "${type}" event is not JSON`, cause);
  }
  if (typeof parsed !== 'object' || parsed === null) {
    throw invalidResponse(request, status, `the data of a "${type}" event is not an object`);
  }
  const fields = parsed as Record<string, unknown>;
  if (type === 'error') {
    const code = typeof fields.code === 'string' && fields.code !== '' ? fields.code : 'INTERNAL';
    throw new AirlockApiError({
      code,
      // The answer's status said 200 before the failure: there is no HTTP status for it.
      status: 0,
      message: typeof fields.message === 'string' ? fields.message : `the event stream failed (${code})`,
      details: { fromEventStream: true },
      request,
    });
  }
  if (type === 'output') {
    if ((fields.stream !== 'stdout' && fields.stream !== 'stderr') || typeof fields.text !== 'string') {
      throw invalidResponse(request, status, 'an "output" event lacks stream or text');
    }
    return { type: 'output', stream: fields.stream, text: fields.text };
  }
  if (typeof fields.id !== 'string' || typeof fields.status !== 'string') {
    throw invalidResponse(request, status, 'a "status" event is not a RunResult');
  }
  return { type: 'status', result: parsed as RunResult };
}
