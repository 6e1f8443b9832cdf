/**
 * The options of `run()` and `start()`, checked before anything is sent: an option this SDK does not
 * know is refused (INVALID_ARGUMENT), never silently dropped, since a dropped `cwd` or `env` would run
 * the command somewhere else or with other variables than the caller meant. Standard input is read
 * here (a stream to its end, bounded) and sent as base64.
 */
import { invalidArgument } from './errors.ts';
import type { RunCommandRequest } from './wire-types.ts';

/** The server's limit on standard input given with a command (1 MiB). */
export const MAX_STDIN_BYTES = 1024 * 1024;

/** Text, bytes, or a stream read to its end before the command starts. */
export type StdinSource = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

/** What `run()`, `start()` and `commands.run()` accept. */
export interface RunOptions {
  /** The command's time limit in the sandbox; default the session's. */
  readonly timeoutMs?: number;
  /**
   * `run()` only: when a person must approve, how long the server waits for the decision before it
   * answers `pending_approval` (the command still runs by itself once approved; follow it with
   * `session.commands.get(id)`). Default the server's `router.approvalWait` (15 s).
   */
  readonly approvalWaitMs?: number;
  /** Where the command starts: inside /workspace or /tmp, relative to /workspace. */
  readonly cwd?: string;
  /**
   * Variables for this command only, over the session's. The policy judges them as the assignments
   * they are (`export NAME=value` before the command): LD_PRELOAD is refused, PATH asks a person.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** Standard input, at most 1 MiB: text (UTF-8), bytes, or a stream read to its end first. */
  readonly stdin?: StdinSource;
  /**
   * `start()` only: keep the command's stdin open for `handle.sendInput()`, on a terminal of this
   * size made inside the sandbox with `pty`. What is typed is recorded in the audit log, redacted.
   */
  readonly interactive?: { readonly pty?: { readonly cols: number; readonly rows: number } };
  /** Each line of standard output (redacted) as it comes; `run()` then follows the command live. */
  readonly onStdout?: (text: string) => void;
  /** Each line of standard error (redacted) as it comes. */
  readonly onStderr?: (text: string) => void;
  /**
   * Client-side bound on the call. `run()` has none by default, since a run may wait for a person's
   * approval; `start()` answers at once, so the client's `defaultTimeoutMs` (60 s unless set) applies.
   */
  readonly requestTimeoutMs?: number;
  /** Stops waiting. The command itself goes on until its timeout; `start()` + `kill()` can stop it. */
  readonly signal?: AbortSignal;
}

export type StartOptions = Omit<RunOptions, 'onStdout' | 'onStderr'>;

const runKeys: ReadonlySet<string> = new Set([
  'interactive',
  'approvalWaitMs',
  'timeoutMs',
  'cwd',
  'env',
  'stdin',
  'onStdout',
  'onStderr',
  'requestTimeoutMs',
  'signal',
]);

/** Names callers coming from other SDKs reach for, and what this one calls them. */
const insteadOf: Readonly<Record<string, string>> = {
  envs: 'env',
  background: 'start()',
  user: 'nothing (commands run as the sandbox user)',
  timeout: 'timeoutMs',
};

/** Throws INVALID_ARGUMENT for an option this call does not take, naming what to use instead. */
export function refuseUnknownOptions(options: object, allowed: ReadonlySet<string>, call: string): void {
  for (const key of Object.keys(options)) {
    if (allowed.has(key)) continue;
    const hint = insteadOf[key];
    throw invalidArgument(
      `${call} has no option ${JSON.stringify(key)}${hint === undefined ? '' : `; use ${hint}`}`,
      { option: key },
    );
  }
}

export function checkRunOptions(options: RunOptions, call: string, allowed = runKeys): void {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument(`${call} options must be an object`);
  refuseUnknownOptions(options, allowed, call);
  for (const key of ['onStdout', 'onStderr'] as const) {
    const value = options[key];
    if (value !== undefined && typeof value !== 'function') {
      throw invalidArgument(`${key} must be a function`, { option: key });
    }
  }
}

export const startKeys: ReadonlySet<string> = new Set(
  [...runKeys].filter((key) => key !== 'onStdout' && key !== 'onStderr'),
);

/** `run()` waits for the end, which an interactive command never reaches by itself. */
export const plainRunKeys: ReadonlySet<string> = new Set([...runKeys].filter((key) => key !== 'interactive'));

/** The request body's command fields, with stdin read and encoded. */
export async function commandFields(
  command: string,
  options: RunOptions,
  wait: boolean,
): Promise<RunCommandRequest> {
  const stdin = options.stdin === undefined ? undefined : await readStdin(options.stdin);
  return {
    command,
    wait,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.approvalWaitMs === undefined || !wait ? {} : { approvalWaitMs: options.approvalWaitMs }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.interactive === undefined ? {} : { interactive: options.interactive }),
    ...(stdin === undefined ? {} : typeof stdin === 'string' ? { stdin } : { stdinBase64: toBase64(stdin) }),
  };
}

/** Text stays text; bytes and streams are read (at most MAX_STDIN_BYTES, else INVALID_ARGUMENT). */
async function readStdin(source: StdinSource): Promise<string | Uint8Array> {
  if (typeof source === 'string') {
    if (new TextEncoder().encode(source).byteLength > MAX_STDIN_BYTES) throw tooLarge();
    return source;
  }
  if (source instanceof Uint8Array) {
    if (source.byteLength > MAX_STDIN_BYTES) throw tooLarge();
    return source;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of iterate(source)) {
    if (!(chunk instanceof Uint8Array)) throw invalidArgument('a stdin stream must give Uint8Array chunks');
    total += chunk.byteLength;
    // Stops reading at once: an endless stream must not fill this process's memory.
    if (total > MAX_STDIN_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

function iterate(source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  if (Symbol.asyncIterator in source) return source as AsyncIterable<Uint8Array>;
  if (typeof (source as ReadableStream<Uint8Array>).getReader !== 'function') {
    throw invalidArgument('stdin must be text, a Uint8Array, a ReadableStream or an async iterable');
  }
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for (;;) {
          const step = await reader.read();
          if (step.done) return;
          yield step.value;
        }
      } finally {
        await reader.cancel().catch(() => undefined);
      }
    },
  };
}

function tooLarge(): Error {
  return invalidArgument(
    `stdin is over ${MAX_STDIN_BYTES} bytes; write larger input to a file (files.write) and redirect it`,
    { limit: MAX_STDIN_BYTES },
  );
}

/** Base64 without Buffer (the SDK runs where only web APIs exist). */
function toBase64(bytes: Uint8Array): string {
  let binary = '';
  const step = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += step) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + step));
  }
  return btoa(binary);
}
