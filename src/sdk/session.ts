/**
 * A handle on one sandbox session: run commands, move files, read outputs, end it. It calls with the
 * session's own token when it has one, so it can be handed to an agent without the admin token.
 */
import { CommandHandle } from './command-handle.ts';
import { Outputs } from './outputs.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type {
  CheckResult,
  FileEntry,
  FileWriteResult,
  RunCommandRequest,
  RunResult,
  SessionInfo,
} from './wire-types.ts';

/**
 * As in E2B: `timeoutMs` is the command's own limit, enforced in the sandbox (its process tree is
 * killed, the result says `timed_out`); `requestTimeoutMs` only stops this client waiting.
 */
export interface RunOptions {
  /** The command's time limit in the sandbox; default the session's. */
  readonly timeoutMs?: number;
  /**
   * `run()` only: when a person must approve, how long the server waits for the decision before it
   * answers `pending_approval` (the command still runs by itself once approved; follow it with
   * `session.commands.get(id)`). Default the server's `router.approvalWait` (15 s).
   */
  readonly approvalWaitMs?: number;
  /**
   * Client-side bound on the call. `run()` has none by default, since a run may wait for a person's
   * approval; `start()` answers at once, so the client's `defaultTimeoutMs` (60 s unless set) applies.
   */
  readonly requestTimeoutMs?: number;
  /** Stops waiting. The command itself goes on until its timeout; `start()` + `kill()` can stop it. */
  readonly signal?: AbortSignal;
}

export type StartOptions = RunOptions;

export interface FileWriteOptions extends CallOptions {
  /**
   * When a person must approve the write: `false` returns `pending_approval` at once. Sent as `?wait=`,
   * which the server accepts beyond the contract.
   */
  readonly wait?: boolean;
  /** How long the server waits for a person before answering `pending_approval`; default its own (15 s). */
  readonly approvalWaitMs?: number;
}

export class SessionFiles {
  readonly #transport: Transport;
  readonly #sessionId: string;

  constructor(transport: Transport, sessionId: string) {
    this.#transport = transport;
    this.#sessionId = sessionId;
  }

  /**
   * Copies `data` into the sandbox (a string as UTF-8). A write the policy refuses or leaves to a
   * person is a result (`denied`, `pending_approval`), not an error; a path out of the sandbox is
   * the error PATH_OUTSIDE_SANDBOX.
   */
  write(path: string, data: string | Uint8Array, options: FileWriteOptions = {}): Promise<FileWriteResult> {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    return this.#transport.json<FileWriteResult>(
      {
        method: 'PUT',
        path: this.#path(),
        query: { path, wait: options.wait, approvalWaitMs: options.approvalWaitMs },
        bytes,
        long: true,
      },
      options,
    );
  }

  read(path: string, options?: CallOptions): Promise<Uint8Array> {
    return this.#transport.bytes(
      { method: 'GET', path: this.#path(), query: { path }, accept: 'application/octet-stream' },
      options,
    );
  }

  /** The file decoded as UTF-8 (invalid sequences become U+FFFD). */
  async readText(path: string, options?: CallOptions): Promise<string> {
    return new TextDecoder('utf-8').decode(await this.read(path, options));
  }

  async list(path: string, options?: CallOptions): Promise<FileEntry[]> {
    const answer = await this.#transport.json<{ entries: FileEntry[] }>(
      { method: 'GET', path: [...this.#path(), 'list'], query: { path } },
      options,
    );
    return answer.entries;
  }

  #path(): string[] {
    return ['v1', 'sessions', this.#sessionId, 'files'];
  }
}

export class SessionCommands {
  readonly #transport: Transport;
  readonly #sessionId: string;

  constructor(transport: Transport, sessionId: string) {
    this.#transport = transport;
    this.#sessionId = sessionId;
  }

  get(commandId: string, options?: CallOptions): Promise<RunResult> {
    return this.connect(commandId).result(options);
  }

  kill(commandId: string, options?: CallOptions): Promise<RunResult> {
    return this.connect(commandId).kill(options);
  }

  /**
   * A dry run: what running `command` would do in this session now — `allow`, `ask` (a person would be
   * asked first) or `deny` — with the reasons. Nothing runs and nobody is asked; the check is audited.
   */
  check(command: string, options?: CallOptions): Promise<CheckResult> {
    return this.#transport.json<CheckResult>(
      { method: 'POST', path: ['v1', 'sessions', this.#sessionId, 'commands:check'], json: { command } },
      options,
    );
  }

  /** A handle on a command started earlier (no request is made until it is used). */
  connect(commandId: string): CommandHandle {
    return new CommandHandle(this.#transport, { sessionId: this.#sessionId, id: commandId });
  }
}

export class SandboxSession {
  readonly id: string;
  /** The session token (`alk_sess_…`), when this handle knows it. */
  readonly token: string | undefined;
  readonly files: SessionFiles;
  readonly commands: SessionCommands;
  readonly outputs: Outputs;
  readonly #transport: Transport;

  constructor(transport: Transport, session: { readonly id: string; readonly token?: string | undefined }) {
    this.id = session.id;
    this.token = session.token;
    this.#transport = session.token === undefined ? transport : transport.withToken(session.token);
    this.files = new SessionFiles(this.#transport, this.id);
    this.commands = new SessionCommands(this.#transport, this.id);
    this.outputs = new Outputs(this.#transport);
  }

  info(options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>({ method: 'GET', path: this.#path() }, options);
  }

  /**
   * Runs `command` and waits for the end. When a person must approve it, waits `approvalWaitMs` for the
   * decision, then answers `pending_approval` (its `forModel` says how to follow it up).
   */
  run(command: string, options: RunOptions = {}): Promise<RunResult> {
    return this.#post(command, true, options);
  }

  /**
   * Starts `command` and returns at once with a handle; the command is `running`, or
   * `pending_approval` (it starts by itself once approved), or already final (e.g. `denied`).
   */
  async start(command: string, options: StartOptions = {}): Promise<CommandHandle> {
    const started = await this.#post(command, false, options);
    return new CommandHandle(this.#transport, { sessionId: this.id, id: started.id, started });
  }

  /** Ends the session and destroys its sandbox; ending an ended session is fine. */
  kill(options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>({ method: 'DELETE', path: this.#path() }, options);
  }

  #post(command: string, wait: boolean, options: RunOptions): Promise<RunResult> {
    const body: RunCommandRequest = {
      command,
      wait,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.approvalWaitMs === undefined || !wait ? {} : { approvalWaitMs: options.approvalWaitMs }),
    };
    return this.#transport.json<RunResult>(
      { method: 'POST', path: [...this.#path(), 'commands'], json: body, long: wait },
      {
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.requestTimeoutMs === undefined ? {} : { timeoutMs: options.requestTimeoutMs }),
      },
    );
  }

  #path(): string[] {
    return ['v1', 'sessions', this.id];
  }
}
