/**
 * Interactive terminals (E2B's `sandbox.pty`): a command on a terminal made inside the sandbox, reached
 * over the WebSocket `GET /v1/sessions/:id/commands/:commandId/pty`. Output arrives as bytes (redacted,
 * a prompt or an echo as soon as output pauses), keystrokes and resizes go in, and `wait()` resolves
 * with the exit once the command ends. Closing the connection detaches: the command goes on.
 *
 * Needs a global `WebSocket` (browsers, Node 22+, Deno, Bun) or `options.WebSocket`. The token travels
 * as a subprotocol, the one way a browser can send it on a WebSocket.
 */
import { AirlockApiError, invalidArgument } from './errors.ts';
import { refuseUnknownOptions } from './run-options.ts';
import type { RunOptions } from './run-options.ts';
import type { Transport } from './transport.ts';
import { buildUrl } from './url.ts';
import type { RunResult, RunStatus } from './wire-types.ts';

const PTY_PROTOCOL = 'airlock.pty.v1';
const TOKEN_PROTOCOL_PREFIX = 'airlock.token.';
/** The server's bound on one message; larger input is sent in pieces of this size. */
export const MAX_PTY_MESSAGE_BYTES = 64 * 1024;

/** The part of the standard WebSocket this SDK uses. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  readonly protocol: string;
  send(data: string | ArrayBufferView | ArrayBuffer): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: string, listener: (event: never) => void): void;
}

export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface PtyExit {
  readonly status: RunStatus;
  /** null when the command did not exit by itself (killed, timed out by a signal). */
  readonly exitCode: number | null;
  readonly result: RunResult;
}

export interface PtyConnectOptions {
  /** Each piece of terminal output, as bytes (UTF-8 text with the terminal's escape sequences). */
  readonly onData?: (data: Uint8Array) => void;
  /** A WebSocket class to use instead of the global one (Node 20, a test double). */
  readonly WebSocket?: WebSocketConstructor;
  /** Aborting detaches (the command goes on). */
  readonly signal?: AbortSignal;
}

export interface PtyCreateOptions
  extends PtyConnectOptions,
    Pick<RunOptions, 'timeoutMs' | 'cwd' | 'env' | 'requestTimeoutMs'> {
  readonly cols: number;
  readonly rows: number;
  /** What runs on the terminal; default `sh -i`. The policy judges it like any command. */
  readonly command?: string;
  /**
   * When a person must approve the command first (the default policies ask before an interactive
   * shell), how long `create()` waits for the decision; default until the server decides for them
   * (`router.approvalTimeout`). Past it, or when `signal` aborts meanwhile, the request is withdrawn
   * (a shell approved later would run with nobody at its terminal) and `create()` rejects with
   * `TIMEOUT` (or `ABORTED`).
   */
  readonly approvalWaitMs?: number;
}

/** How often `create()` asks whether a person has decided about the terminal's command. */
const APPROVAL_POLL_MS = 250;

/** What `create()` needs of `session.commands`. */
export interface PtyCommands {
  get(commandId: string, options?: { readonly signal?: AbortSignal }): Promise<RunResult>;
  kill(commandId: string): Promise<RunResult>;
}

/** Statuses of a command that ran: one that has ended already still gives its output and exit. */
const attachable: ReadonlySet<RunStatus> = new Set(['running', 'completed', 'timed_out', 'killed']);

const createKeys: ReadonlySet<string> = new Set([
  'cols',
  'rows',
  'command',
  'timeoutMs',
  'cwd',
  'env',
  'requestTimeoutMs',
  'onData',
  'WebSocket',
  'signal',
  'approvalWaitMs',
]);

/** An open terminal: type into it, resize it, wait for its end, or detach. */
export class PtyConnection {
  readonly commandId: string;
  readonly #socket: WebSocketLike;
  readonly #exit: Promise<PtyExit>;

  constructor(commandId: string, socket: WebSocketLike, exit: Promise<PtyExit>) {
    this.commandId = commandId;
    this.#socket = socket;
    this.#exit = exit;
    // A caller that never waits must not see an unhandled rejection when the connection breaks.
    exit.catch(() => undefined);
  }

  /** Keystrokes or a paste (text as UTF-8), sent in pieces the server takes. */
  write(data: string | Uint8Array): void {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    for (let offset = 0; offset < bytes.length; offset += MAX_PTY_MESSAGE_BYTES) {
      this.#socket.send(bytes.slice(offset, offset + MAX_PTY_MESSAGE_BYTES));
    }
  }

  resize(cols: number, rows: number): void {
    this.#socket.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /**
   * The command's end (status, exit code, final result). Rejects with an AirlockApiError when the
   * connection fails first: STREAM_INTERRUPTED when it broke, the server's code when it refused.
   */
  wait(): Promise<PtyExit> {
    return this.#exit;
  }

  /** Detaches; the command goes on (kill it with `session.commands.kill(commandId)`). */
  close(): void {
    this.#socket.close(1000, 'detached');
  }
}

/** `session.pty`: start a command on a terminal, or attach to one started earlier. */
export class SessionPty {
  readonly #transport: Transport;
  readonly #sessionId: string;
  readonly #start: (command: string, options: RunOptions) => Promise<RunResult>;
  readonly #commands: PtyCommands;

  constructor(
    transport: Transport,
    sessionId: string,
    start: (command: string, options: RunOptions) => Promise<RunResult>,
    commands: PtyCommands,
  ) {
    this.#transport = transport;
    this.#sessionId = sessionId;
    this.#start = start;
    this.#commands = commands;
  }

  /**
   * Starts `command` (default `sh -i`) on a `cols`×`rows` terminal and attaches to it (a command that
   * ended before the attach still gives its output and exit). When a person must approve it first,
   * waits for the decision (see `approvalWaitMs`). A command the policy or a person denied, or one that
   * could not start, is an AirlockApiError with code `COMMAND_NOT_RUNNING` and the result in
   * `details.result`.
   */
  async create(options: PtyCreateOptions): Promise<PtyConnection> {
    refuseUnknownOptions(options, createKeys, 'pty.create()');
    const { cols, rows, command = 'sh -i', onData, WebSocket, signal, approvalWaitMs, ...run } = options;
    if (approvalWaitMs !== undefined && !(Number.isFinite(approvalWaitMs) && approvalWaitMs >= 0)) {
      throw invalidArgument('approvalWaitMs must be a number of milliseconds, 0 or more', {
        field: 'approvalWaitMs',
      });
    }
    let started = await this.#start(command, {
      ...run,
      interactive: { pty: { cols, rows } },
      ...(signal === undefined ? {} : { signal }),
    });
    if (started.status === 'pending_approval') started = await this.#decided(started, approvalWaitMs, signal);
    if (!attachable.has(started.status)) {
      throw new AirlockApiError({
        code: 'COMMAND_NOT_RUNNING',
        status: 0,
        message: `the terminal's command is ${started.status}: ${started.forModel}`,
        details: { result: started },
      });
    }
    return this.connect(started.id, {
      ...(onData === undefined ? {} : { onData }),
      ...(WebSocket === undefined ? {} : { WebSocket }),
      ...(signal === undefined ? {} : { signal }),
    });
  }

  /** The command once a person decided; withdrawn (and rejected) past `waitMs` or on `signal`. */
  async #decided(pending: RunResult, waitMs: number | undefined, signal?: AbortSignal): Promise<RunResult> {
    const deadline = waitMs === undefined ? Infinity : Date.now() + waitMs;
    let state = pending;
    try {
      while (state.status === 'pending_approval') {
        const left = deadline - Date.now();
        if (signal?.aborted === true) throw aborted(state);
        if (left <= 0) throw notDecided(state, waitMs ?? 0);
        await pause(Math.min(APPROVAL_POLL_MS, left), signal);
        state = await this.#commands.get(state.id, signal === undefined ? {} : { signal });
      }
      return state;
    } catch (error) {
      await this.#commands.kill(pending.id).catch(() => undefined);
      throw error instanceof AirlockApiError ? error : aborted(state);
    }
  }

  /** Attaches to an interactive command of this session; resolves once the socket is open. */
  connect(commandId: string, options: PtyConnectOptions = {}): Promise<PtyConnection> {
    const Socket = options.WebSocket ?? globalWebSocket();
    const url = buildUrl(this.#transport.baseUrl, [
      'v1',
      'sessions',
      this.#sessionId,
      'commands',
      commandId,
      'pty',
    ]).replace(/^http/, 'ws');
    const token = this.#transport.token;
    const protocols = [
      PTY_PROTOCOL,
      ...(token === undefined ? [] : [TOKEN_PROTOCOL_PREFIX + base64url(token)]),
    ];
    const socket = new Socket(url, protocols);
    socket.binaryType = 'arraybuffer';
    return new Promise((resolve, reject) => {
      let opened = false;
      let exit: PtyExit | null = null;
      let refusal: AirlockApiError | null = null;
      let settle: { resolve: (value: PtyExit) => void; reject: (error: unknown) => void } | null = null;
      const exited = new Promise<PtyExit>((res, rej) => {
        settle = { resolve: res, reject: rej };
      });
      // Rejected too when the socket never opened: then the caller has only the connect() rejection.
      exited.catch(() => undefined);
      options.signal?.addEventListener('abort', () => socket.close(1000, 'detached'), { once: true });
      socket.addEventListener('open', () => {
        opened = true;
        resolve(new PtyConnection(commandId, socket, exited));
      });
      socket.addEventListener('message', (event: { data: unknown }) => {
        if (typeof event.data !== 'string') {
          options.onData?.(new Uint8Array(event.data as ArrayBuffer));
          return;
        }
        const control = parseControl(event.data);
        if (control?.type === 'exit') exit = control as unknown as PtyExit;
        else if (control?.type === 'error') refusal = serverError(control);
      });
      socket.addEventListener('close', (event: { code: number; reason: string }) => {
        if (exit !== null) {
          settle?.resolve({ status: exit.status, exitCode: exit.exitCode, result: exit.result });
          return;
        }
        const error =
          refusal ??
          new AirlockApiError({
            code: opened ? 'STREAM_INTERRUPTED' : 'CONNECTION_FAILED',
            status: 0,
            message: opened
              ? `the terminal closed before its command ended (close ${event.code}${event.reason ? `: ${event.reason}` : ''})`
              : 'the terminal could not be opened: the server refused the upgrade or could not be reached ' +
                '(a browser does not say which; GET the command to see whether it is still running)',
            details: { closeCode: event.code },
          });
        settle?.reject(error);
        if (!opened) reject(error);
      });
    });
  }
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

function notDecided(state: RunResult, waitMs: number): AirlockApiError {
  return new AirlockApiError({
    code: 'TIMEOUT',
    status: 0,
    message:
      `nobody decided about the terminal's command within ${waitMs} ms (approvalWaitMs); ` +
      `its approval request${state.approvalId === null ? '' : ` ${state.approvalId}`} was withdrawn`,
    details: { result: state },
  });
}

function aborted(state: RunResult): AirlockApiError {
  return new AirlockApiError({
    code: 'ABORTED',
    status: 0,
    message:
      "the call was aborted while the terminal's command waited for a person; its request was withdrawn",
    details: { result: state },
  });
}

function parseControl(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function serverError(control: Record<string, unknown>): AirlockApiError {
  return new AirlockApiError({
    code: typeof control['code'] === 'string' ? control['code'] : 'INVALID_RESPONSE',
    status: 0,
    message: typeof control['message'] === 'string' ? control['message'] : 'the terminal failed',
  });
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function globalWebSocket(): WebSocketConstructor {
  const found = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (found === undefined) {
    throw invalidArgument('no global WebSocket in this runtime (Node 20 has none): pass options.WebSocket');
  }
  return found;
}
