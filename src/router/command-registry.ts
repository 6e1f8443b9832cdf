/**
 * The commands a router knows: those in flight (with their kill switch and live output), the latest
 * results in memory, and everything else rebuilt from the store. Every lookup by id goes through one
 * session-scope check, so a command or output of another session is answered exactly as a missing one.
 */
import { AirlockError } from '../errors/index.ts';
import type { OutputPage, Store } from '../store/index.ts';
import { storedResult } from './record/index.ts';
import { shapeLive, watchOutput } from './shape/index.ts';
import type { CommandEvent, LiveTail, Redactor, WatchOptions } from './shape/index.ts';
import type { CommandInputChannel } from './command-input.ts';
import type { RunResult, SessionScope } from './types.ts';

/** Results kept in memory for `get`; older ones are rebuilt from the store. */
const RECENT_RESULTS = 1000;

export interface CommandHandle {
  readonly id: string;
  readonly sessionId: string;
  readonly kill: AbortController;
  /** Live windows of a background command's output; null for a foreground one. */
  readonly live: { readonly stdout: LiveTail; readonly stderr: LiveTail } | null;
  /** Input to an interactive command; null for any other. */
  readonly input: CommandInputChannel | null;
  /** The session's redactor, for showing live output after the session itself is gone. */
  readonly redactor: Redactor;
  /** The latest known state; the final result once `done` settles. */
  latest: RunResult;
  /** Settles with the final result; never rejects. */
  done: Promise<RunResult>;
}

export interface ScopedOptions {
  readonly within?: SessionScope | undefined;
}

export interface WatchCommandOptions extends ScopedOptions, WatchOptions {
  readonly signal?: AbortSignal;
}

export interface CommandRegistry {
  track(handle: CommandHandle): void;
  /** Keeps a result for `get` (the latest `RECENT_RESULTS` of them). */
  remember(result: RunResult): void;
  get(id: string, options?: ScopedOptions): Promise<RunResult>;
  wait(id: string, options?: ScopedOptions & { readonly signal?: AbortSignal }): Promise<RunResult>;
  kill(id: string, options?: ScopedOptions): Promise<RunResult>;
  /**
   * Commands in flight (running, or waiting for approval or a rate-limit token), oldest first, each
   * as `get` shows it; only those in `within` when it is given.
   */
  list(options?: ScopedOptions): RunResult[];
  /**
   * Input for an interactive command in flight: bytes (text as UTF-8), or `end` to end input;
   * resolves with how many bytes it took. INVALID_ARGUMENT for a command that takes no input.
   */
  sendInput(
    id: string,
    input: { readonly data?: Uint8Array; readonly end?: boolean },
    options?: ScopedOptions,
  ): Promise<{ readonly written: number }>;
  /** A new size for an interactive command's terminal. */
  resize(
    id: string,
    size: { readonly cols: number; readonly rows: number },
    options?: ScopedOptions,
  ): Promise<void>;
  watch(id: string, options?: WatchCommandOptions): AsyncIterable<CommandEvent>;
  readOutput(
    id: string,
    page?: ScopedOptions & {
      readonly stream?: 'stdout' | 'stderr';
      readonly offset?: number;
      readonly limit?: number;
    },
  ): Promise<OutputPage>;
  /** Waits for every command in flight to settle. */
  drain(): Promise<void>;
}

/** Whether `scope` lets a caller see what belongs to `sessionId`; no scope sees everything. */
function inScope(scope: SessionScope | undefined, sessionId: string): boolean {
  if (scope === undefined) return true;
  return typeof scope === 'string' ? scope === sessionId : scope(sessionId);
}

/** The one NOT_FOUND for a missing id and for one outside the caller's scope: both read the same. */
function notFound(what: 'command' | 'output', id: string, scoped: boolean): AirlockError {
  const shown = JSON.stringify(String(id)).slice(0, 80);
  return new AirlockError('NOT_FOUND', `no ${what} ${shown}${scoped ? ' in this session' : ''}`, {
    [`${what}Id`]: id,
  });
}

/** A command in flight as `get` shows it: a running background command with its output so far. */
function current(handle: CommandHandle, maxChars: number): RunResult {
  if (handle.live === null || handle.latest.status !== 'running') return handle.latest;
  const shown = shapeLive(handle.live, handle.redactor, maxChars);
  return {
    ...handle.latest,
    ...shown,
    forModel: `still running (command ${handle.id}); output so far:\n${shown.stdout}`,
  };
}

/** A page of a stored output, found only by a well-formed id and only within the caller's scope. */
async function readOutput(
  store: Store,
  maxChars: number,
  id: string,
  page: ScopedOptions & { stream?: 'stdout' | 'stderr'; offset?: number; limit?: number } = {},
): Promise<OutputPage> {
  const found =
    typeof id === 'string' && /^out_[0-9a-f]{24}$/.test(id)
      ? await store.readOutput(id, {
          stream: page.stream ?? 'stdout',
          offset: page.offset ?? 0,
          limit: page.limit ?? maxChars,
        })
      : null;
  if (found === null || !inScope(page.within, found.sessionId)) {
    throw notFound('output', id, page.within !== undefined);
  }
  return found;
}

export function createCommandRegistry(options: {
  readonly store: Store;
  readonly maxChars: number;
}): CommandRegistry {
  const { store, maxChars } = options;
  const handles = new Map<string, CommandHandle>();
  const recent = new Map<string, RunResult>();

  function remember(result: RunResult): void {
    recent.delete(result.id);
    recent.set(result.id, result);
    if (recent.size > RECENT_RESULTS) recent.delete(recent.keys().next().value as string);
  }

  async function lookup(id: string): Promise<RunResult> {
    const handle = handles.get(id);
    if (handle !== undefined) return current(handle, maxChars);
    const found = recent.get(id);
    if (found !== undefined) return found;
    try {
      return await storedResult(store, id, maxChars);
    } catch (error) {
      if (error instanceof AirlockError && error.code === 'NOT_FOUND') throw notFound('command', id, false);
      throw error;
    }
  }

  async function get(id: string, scoped: ScopedOptions = {}): Promise<RunResult> {
    const { within } = scoped;
    try {
      const found = await lookup(id);
      if (!inScope(within, found.sessionId)) throw notFound('command', id, true);
      return found;
    } catch (error) {
      if (within !== undefined && error instanceof AirlockError && error.code === 'NOT_FOUND') {
        throw notFound('command', id, true);
      }
      throw error;
    }
  }

  async function wait(
    id: string,
    waitOptions: ScopedOptions & { readonly signal?: AbortSignal } = {},
  ): Promise<RunResult> {
    const found = await get(id, waitOptions);
    const handle = handles.get(id);
    if (handle === undefined) return found;
    const { signal } = waitOptions;
    if (signal === undefined) return handle.done;
    return Promise.race([
      handle.done,
      new Promise<RunResult>((_, reject) => {
        signal.throwIfAborted();
        signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      }),
    ]);
  }

  async function* watch(
    id: string,
    watchOptions: WatchCommandOptions = {},
  ): AsyncGenerator<CommandEvent, void, undefined> {
    const { signal } = watchOptions;
    const found = await get(id, watchOptions);
    const handle = handles.get(id);
    if (handle === undefined) {
      if (signal?.aborted !== true) yield { type: 'status', result: found };
      return;
    }
    yield* watchOutput({ live: handle.live, redactor: handle.redactor, done: handle.done }, signal, {
      ...(watchOptions.terminal === undefined ? {} : { terminal: watchOptions.terminal }),
    });
  }

  async function kill(id: string, scoped: ScopedOptions = {}): Promise<RunResult> {
    const found = await get(id, scoped);
    const handle = handles.get(id);
    if (handle === undefined) return found;
    handle.kill.abort(new AirlockError('SANDBOX_DESTROYED', 'killed on request'));
    return handle.done;
  }

  function list(scoped: ScopedOptions = {}): RunResult[] {
    const shown: RunResult[] = [];
    for (const handle of handles.values()) {
      if (inScope(scoped.within, handle.sessionId)) shown.push(current(handle, maxChars));
    }
    return shown;
  }

  /** The input of a command in flight that takes input, or INVALID_ARGUMENT saying why not. */
  async function inputOf(id: string, scoped: ScopedOptions): Promise<CommandInputChannel> {
    const found = await get(id, scoped);
    const channel = handles.get(id)?.input ?? null;
    if (channel === null) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        found.status === 'running' || found.status === 'pending_approval'
          ? `command ${id} takes no input: start it with interactive`
          : `command ${id} has ended (${found.status})`,
        { commandId: id, status: found.status },
      );
    }
    return channel;
  }

  return {
    sendInput: async (id, input, scoped = {}) => {
      const channel = await inputOf(id, scoped);
      const written = input.data === undefined ? 0 : await channel.write(input.data);
      if (input.end === true) await channel.end();
      return { written };
    },
    resize: async (id, size, scoped = {}) => {
      (await inputOf(id, scoped)).resize(size.cols, size.rows);
    },
    track(handle) {
      handles.set(handle.id, handle);
      void handle.done.then(() => handles.delete(handle.id));
    },
    remember,
    get,
    wait,
    kill,
    list,
    watch: (id, watchOptions) => watch(id, watchOptions),
    readOutput: (id, page) => readOutput(store, maxChars, id, page),
    drain: async () => {
      await Promise.allSettled([...handles.values()].map((handle) => handle.done));
    },
  };
}
