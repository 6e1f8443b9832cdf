/**
 * A handle on one sandbox session: run commands, move files, read outputs, end it. It calls with the
 * session's own token when it has one, so it can be handed to an agent without the admin token.
 */
import {
  downloadArchive,
  downloadArchiveStream,
  uploadArchive,
  workspaceChanges,
  workspacePatch,
} from './archives.ts';
import type {
  ArchiveDownload,
  ArchiveDownloadStream,
  ArchiveSource,
  ArchiveUploadResult,
  ChangesOptions,
  DownloadOptions,
  WorkspaceChanges,
} from './archives.ts';
import { CommandHandle } from './command-handle.ts';
import { invalidArgument } from './errors.ts';
import { makeDirectory, removeFile, renameFile, statFile, writeManyFiles } from './file-changes.ts';
import type { FileChangeResult, FileStat, WriteManyEntry } from './file-changes.ts';
import { Outputs } from './outputs.ts';
import { SessionPty } from './pty.ts';
import {
  checkRunOptions,
  commandFields,
  plainRunKeys,
  refuseUnknownOptions,
  startKeys,
} from './run-options.ts';
import type { RunOptions, StartOptions } from './run-options.ts';
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

const downloadKeys: ReadonlySet<string> = new Set(['signal', 'timeoutMs', 'protectedPaths', 'summary']);
/** Refuses what the download routes do not know, at run time as well as in the types. */
function checkedDownloadOptions(options: DownloadOptions | undefined): DownloadOptions | undefined {
  if (options === undefined) return undefined;
  refuseUnknownOptions(options, downloadKeys, 'files.download');
  if (options.protectedPaths !== undefined && !['leave-out', 'ask'].includes(options.protectedPaths))
    throw invalidArgument(`protectedPaths is 'leave-out' or 'ask', got ${String(options.protectedPaths)}`, {
      option: 'protectedPaths',
    });
  return options;
}

const changesKeys: ReadonlySet<string> = new Set(['signal', 'timeoutMs', 'since']);

/*
 * As in E2B: `timeoutMs` is the command's own limit, enforced in the sandbox (its process tree is
 * killed, the result says `timed_out`); `requestTimeoutMs` only stops this client waiting.
 */
export type { RunOptions, StartOptions };

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

  /**
   * Unpacks a tar archive (optionally gzip) into directory `remotePath`, created if missing. The whole
   * archive is checked first: one with an absolute or `..` name, a link, a device, or more entries or
   * bytes than allowed is refused with UNSAFE_ARCHIVE and nothing is written. A stream (a web
   * ReadableStream, or an async iterable such as a Node stream) is sent as it is read, so an archive of
   * any size is never held whole here; a browser sends one only over HTTP/2.
   */
  upload(archive: ArchiveSource, remotePath: string, options?: CallOptions): Promise<ArchiveUploadResult> {
    return uploadArchive(this.#transport, this.#sessionId, archive, remotePath, options);
  }

  /**
   * Directory `remotePath` as a tar archive, through the export checks (`leftOut` says what was kept
   * back and why). `protectedPaths: 'ask'` asks a person about changed protected paths instead of
   * leaving them out.
   */
  async download(remotePath: string, options?: DownloadOptions): Promise<ArchiveDownload> {
    return downloadArchive(this.#transport, this.#sessionId, remotePath, checkedDownloadOptions(options));
  }

  /**
   * As `download`, with the archive as a stream read as it arrives (a tree of any size is never held
   * whole here). Read it to the end or cancel it.
   */
  async downloadStream(remotePath: string, options?: DownloadOptions): Promise<ArchiveDownloadStream> {
    return downloadArchiveStream(
      this.#transport,
      this.#sessionId,
      remotePath,
      checkedDownloadOptions(options),
    );
  }

  /** What is at `path` (a symlink as itself), or null when nothing is. */
  stat(path: string, options?: CallOptions): Promise<FileStat | null> {
    return statFile(this.#transport, this.#sessionId, path, options);
  }

  async exists(path: string, options?: CallOptions): Promise<boolean> {
    return (await this.stat(path, options)) !== null;
  }

  /** Creates the directory and its parents. A person may have to approve it, like a write. */
  mkdir(path: string, options?: CallOptions): Promise<FileChangeResult> {
    return makeDirectory(this.#transport, this.#sessionId, path, options);
  }

  /** Removes a file, a symlink (not its target) or a directory with its contents. */
  remove(path: string, options?: CallOptions): Promise<FileChangeResult> {
    return removeFile(this.#transport, this.#sessionId, path, options);
  }

  rename(from: string, to: string, options?: CallOptions): Promise<FileChangeResult> {
    return renameFile(this.#transport, this.#sessionId, from, to, options);
  }

  /** Writes every file after one approval, when one is needed (at most 1000; more is an archive's job). */
  writeMany(files: readonly WriteManyEntry[], options?: CallOptions): Promise<FileChangeResult> {
    return writeManyFiles(this.#transport, this.#sessionId, files, options);
  }

  /** Files changed under /workspace since a tree was uploaded, or `since` a snapshot of the session. */
  async changes(options?: ChangesOptions): Promise<WorkspaceChanges> {
    if (options !== undefined) refuseUnknownOptions(options, changesKeys, 'files.changes');
    return workspaceChanges(this.#transport, this.#sessionId, options);
  }

  /** The same changes as a unified diff (`git apply` takes it). */
  async patch(options?: ChangesOptions): Promise<string> {
    if (options !== undefined) refuseUnknownOptions(options, changesKeys, 'files.patch');
    return workspacePatch(this.#transport, this.#sessionId, options);
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

  /** The session's commands in flight (running, or waiting for approval), oldest first. */
  async list(options?: CallOptions): Promise<RunResult[]> {
    const answer = await this.#transport.json<{ commands: RunResult[] }>(
      { method: 'GET', path: ['v1', 'sessions', this.#sessionId, 'commands'] },
      options,
    );
    return answer.commands;
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
  /** Interactive terminals (E2B's `sandbox.pty`). */
  readonly pty: SessionPty;
  readonly #transport: Transport;

  constructor(transport: Transport, session: { readonly id: string; readonly token?: string | undefined }) {
    this.id = session.id;
    this.token = session.token;
    // Its own transport, which may follow the session to the node that runs it (Transport.forSession).
    this.#transport = (
      session.token === undefined ? transport : transport.withToken(session.token)
    ).forSession();
    this.files = new SessionFiles(this.#transport, this.id);
    this.commands = new SessionCommands(this.#transport, this.id);
    this.outputs = new Outputs(this.#transport);
    this.pty = new SessionPty(
      this.#transport,
      this.id,
      (command, options) => this.#post(command, false, options),
      this.commands,
    );
  }

  info(options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>({ method: 'GET', path: this.#path() }, options);
  }

  /**
   * Runs `command` and waits for the end (and for a person's approval when the policy asks for one).
   * With `onStdout`/`onStderr` the command is followed live: each line (redacted) reaches the callback
   * as it comes, and the final result is returned as without them. An option this SDK does not know
   * is refused with INVALID_ARGUMENT before anything is sent.
   */
  async run(command: string, options: RunOptions = {}): Promise<RunResult> {
    checkRunOptions(options, 'run()', plainRunKeys);
    const { onStdout, onStderr } = options;
    if (onStdout === undefined && onStderr === undefined) return this.#post(command, true, options);
    const handle = await this.#start(command, options);
    const callOptions = options.signal === undefined ? {} : { signal: options.signal };
    let sawLines = false;
    for await (const event of handle.events(callOptions)) {
      if (event.type === 'status') {
        // A command that ended before the stream opened has no live lines left to send: its output
        // comes with the result, so the callbacks get it from there, line by line.
        if (!sawLines) {
          for (const line of linesOf(event.result.stdout)) onStdout?.(line);
          for (const line of linesOf(event.result.stderr)) onStderr?.(line);
        }
        return event.result;
      }
      sawLines = true;
      if (event.stream === 'stdout') onStdout?.(event.text);
      else onStderr?.(event.text);
    }
    return handle.wait(callOptions);
  }

  /**
   * Starts `command` and returns at once with a handle; the command is `running`, or
   * `pending_approval` (it starts by itself once approved), or already final (e.g. `denied`).
   */
  async start(command: string, options: StartOptions = {}): Promise<CommandHandle> {
    checkRunOptions(options, 'start()', startKeys);
    return this.#start(command, options);
  }

  async #start(command: string, options: StartOptions): Promise<CommandHandle> {
    const started = await this.#post(command, false, options);
    return new CommandHandle(this.#transport, { sessionId: this.id, id: started.id, started });
  }

  /**
   * The session now ends `expiresInMs` from now (longer or shorter than before), at most the server's
   * `sessions.maxLifetime` after its creation (else INVALID_ARGUMENT). E2B's `setTimeout`.
   */
  extend(expiresInMs: number, options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>(
      { method: 'PATCH', path: this.#path(), json: { expiresInMs } },
      options,
    );
  }

  /** Ends the session: kills its commands and destroys its sandbox; ending an ended session is fine. */
  destroy(options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>({ method: 'DELETE', path: this.#path() }, options);
  }

  /**
   * @deprecated Use `destroy()`: `kill` reads like `commands.kill(id)`, which stops one command, while
   * this ends the whole session. Kept because earlier releases documented it; same call as `destroy()`.
   */
  kill(options?: CallOptions): Promise<SessionInfo> {
    return this.destroy(options);
  }

  async #post(command: string, wait: boolean, options: StartOptions): Promise<RunResult> {
    const body: RunCommandRequest = await commandFields(command, options, wait);
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

/** Text as the live stream sends it: each line with its newline, the last one without if it has none. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}
