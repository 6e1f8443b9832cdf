import { constants } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AirlockError } from '../../errors/index.ts';
import type { CaptureLimits } from '../output/index.ts';
import { CapturedStream, LiveOutput } from '../output/index.ts';
import { resolveSandboxPath } from '../paths.ts';
import { SUPERVISOR_GRACE_MS, validateEnv, validateTimeoutMs } from '../spec.ts';
import type { SupervisorClient } from './client.ts';
import { errnos, isRequestError } from './request-error.ts';
import { MAX_PTY_DIMENSION } from './protocol.ts';
import type {
  DriverName,
  ExecOptions,
  ExecResult,
  FileEntry,
  ReadFileOptions,
  Sandbox,
  SandboxInfo,
  SandboxEnd,
  SandboxSnapshot,
  SandboxSpec,
  SandboxStats,
  WriteFileData,
  WriteFileOptions,
} from '../types.ts';

/** Usage figures a driver reads from wherever its runtime keeps them (host cgroup, Engine API). */
export interface SupervisedUsage {
  memoryBytes: number;
  memoryPeakBytes: number | null;
  pids: number;
  cpuUsageMs: number;
  oomKills: number;
}

/**
 * What a driver hands a supervised sandbox: a running airlock-helper supervisor (whatever isolates
 * it: gVisor, a container) and the driver's own ways to measure and tear it down.
 */
export interface SupervisedSandboxParts {
  id: string;
  driver: DriverName;
  info: SandboxInfo;
  spec: SandboxSpec;
  client: SupervisorClient;
  /** Settles when the supervisor's channel is gone (the sandbox ended, for whatever reason). */
  exited: Promise<void>;
  /** Host directory for output spools; removed on destroy. */
  dir: string;
  shell: { path: string; args: readonly string[] };
  /** The environment a command sees: defaults, the spec's grants, then the call's own. */
  environment(execEnv: Readonly<Record<string, string>> | undefined): Record<string, string>;
  captureLimits: CaptureLimits;
  maxFileBytes: number;
  usage(): Promise<SupervisedUsage>;
  /** OOM kills so far; read before and after each command to tell an OOM kill apart. */
  oomKillCount(): Promise<number>;
  /** Kills every process of the sandbox and removes its host-side traces (not `dir`). */
  teardown(): Promise<void>;
  /** Checkpoints the running sandbox; absent for drivers that cannot. */
  checkpoint?(nextRequestId: number): Promise<SandboxSnapshot>;
}

const MAX_COMMAND_BYTES = 1024 * 1024;
/** Full outputs stay pageable on disk for the latest commands only, bounding a session's disk use. */
const MAX_SPOOLED_STREAMS = 32;
/** A listing larger than this is refused rather than held in memory. */
const MAX_LIST_ENTRIES = 10_000;

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name] as [number, string]),
);

/**
 * A sandbox whose commands and file copies go through the in-sandbox airlock-helper supervisor.
 * The gVisor and Docker drivers use it, so per-command keepers, kill-tree on timeout, O_NOFOLLOW
 * file copies and output backpressure are the very code the bwrap driver runs.
 */
export class SupervisedSandbox implements Sandbox {
  readonly id: string;
  readonly driver: DriverName;
  readonly info: SandboxInfo;
  readonly ended: Promise<SandboxEnd>;
  readonly #parts: SupervisedSandboxParts;
  #destroying: Promise<void> | undefined;
  /** Why it ended, once known: set before the sandbox is torn down. */
  #end: SandboxEnd | undefined;
  #commandCount = 0;
  readonly #spooled: CapturedStream[] = [];

  constructor(parts: SupervisedSandboxParts) {
    this.#parts = parts;
    this.id = parts.id;
    this.driver = parts.driver;
    this.info = parts.info;
    this.ended = parts.exited.then(() => {
      this.#end ??= { cause: 'exited', detail: 'the sandbox ended on its own' };
      return this.#end;
    });
    // A sandbox that died on its own still gets its host-side traces removed; a failure there
    // surfaces to whoever calls destroy(), never as an unhandled rejection.
    void parts.exited.then(() => this.destroy()).catch(() => {});
    // Whatever broke the protocol (most likely a command that took over the supervisor) holds this
    // sandbox only: it is ended, and no other session is touched.
    void parts.client.violated
      .then((violation) => {
        this.#end ??= { cause: 'protocol_violation', detail: violation.message };
        return this.destroy();
      })
      .catch(() => {});
  }

  #assertAlive(): void {
    if (this.#destroying) throw new AirlockError('SANDBOX_DESTROYED', `sandbox ${this.id} was destroyed`);
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.#assertAlive();
    if (typeof command !== 'string' || command.length === 0) {
      throw new AirlockError('INVALID_ARGUMENT', 'the command is empty');
    }
    if (Buffer.byteLength(command) > MAX_COMMAND_BYTES || command.includes('\0')) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `the command must be under ${MAX_COMMAND_BYTES} bytes, without NUL`,
      );
    }
    const timeoutMs = options.timeoutMs ?? this.#parts.spec.timeoutMs;
    validateTimeoutMs(timeoutMs);
    if (options.env) validateEnv(options.env);
    const cwd =
      options.cwd === undefined ? '/workspace' : resolveSandboxPath(options.cwd, { allowRoot: true });
    const { client, shell, captureLimits, dir } = this.#parts;
    const sequence = ++this.#commandCount;
    const stdout = new CapturedStream(
      join(dir, `${sequence}.stdout`),
      options.captureStdout === false ? { maxMemoryBytes: 0, maxStoredBytes: 0 } : captureLimits,
    );
    const stderr = new CapturedStream(join(dir, `${sequence}.stderr`), captureLimits);
    const oomBefore = await this.#parts.oomKillCount();
    const startedAt = performance.now();
    const stdin = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);

    const live = new LiveOutput(() => client.pauseOutput());
    const { interactive } = options;
    if (interactive?.pty !== undefined) {
      const { cols, rows } = interactive.pty;
      if (
        ![cols, rows].every((value) => Number.isInteger(value) && value >= 1 && value <= MAX_PTY_DIMENSION)
      ) {
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `a terminal is 1 to ${MAX_PTY_DIMENSION} columns and rows, got ${String(cols)}x${String(rows)}`,
          { field: 'pty' },
        );
      }
    }
    const { id, exited, input } = client.exec(
      {
        executable: shell.path,
        argv: [shell.path, ...shell.args, command],
        env: this.#parts.environment(options.env),
        cwd,
        timeoutMs,
        stdin,
        ...(interactive === undefined ? {} : { stdinStream: true }),
        ...(interactive?.pty === undefined ? {} : { pty: interactive.pty }),
      },
      {
        onStdout: (chunk) => {
          stdout.write(chunk);
          live.forward(options.stdoutTo, chunk);
        },
        onStderr: (chunk) => {
          stderr.write(chunk);
          live.forward(options.stderrTo, chunk);
        },
      },
    );
    interactive?.attach(input);
    const onAbort = (): void => {
      client.kill(id);
      live.stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    // The supervisor enforces the timeout itself; this only catches a supervisor that stopped answering.
    const backstop = setTimeout(() => void this.destroy().catch(() => {}), timeoutMs + SUPERVISOR_GRACE_MS);
    try {
      const exit = await exited;
      const oomKilled = !exit.timedOut && (await this.#parts.oomKillCount()) > oomBefore;
      this.#retainSpools(stdout, stderr);
      return {
        exitCode: exit.exitCode,
        signal:
          exit.signalNumber === null
            ? null
            : (signalNames.get(exit.signalNumber) ?? `SIG${exit.signalNumber}`),
        timedOut: exit.timedOut,
        oomKilled,
        killed: exit.killed || exit.keeperLost,
        stdout: stdout.text,
        stderr: stderr.text,
        stdoutStream: stdout,
        stderrStream: stderr,
        truncated: stdout.truncated || stderr.truncated,
        durationMs: performance.now() - startedAt,
      };
    } catch (error) {
      // Whatever failed on this side (an output sink or spool that threw), the command must not
      // run on unobserved; a kill for a command that already ended is ignored.
      client.kill(id);
      stdout.discard();
      stderr.discard();
      if (isRequestError(error, errnos.EAGAIN)) {
        throw new AirlockError('LIMIT_REACHED', error.message, { limit: 'pids' }, { cause: error });
      }
      if (error instanceof AirlockError) throw error;
      throw new AirlockError('SANDBOX_UNAVAILABLE', (error as Error).message, {}, { cause: error });
    } finally {
      clearTimeout(backstop);
      live.stop();
      options.signal?.removeEventListener('abort', onAbort);
      stdout.close();
      stderr.close();
    }
  }

  #retainSpools(...streams: CapturedStream[]): void {
    for (const stream of streams) if (stream.spoolPath) this.#spooled.push(stream);
    while (this.#spooled.length > MAX_SPOOLED_STREAMS) this.#spooled.shift()?.discard();
  }

  async writeFile(path: string, data: WriteFileData, options: WriteFileOptions = {}): Promise<void> {
    this.#assertAlive();
    const target = resolveSandboxPath(path);
    // Views, not copies (see WriteFileData): a large write is not copied on its way to the channel.
    const view = (piece: Uint8Array): Buffer => Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
    const pieces =
      typeof data === 'string'
        ? [Buffer.from(data)]
        : data instanceof Uint8Array
          ? [view(data)]
          : data.map(view);
    let sizeBytes = 0;
    for (const piece of pieces) sizeBytes += piece.length;
    const { maxFileBytes } = this.#parts;
    if (sizeBytes > maxFileBytes) {
      throw new AirlockError(
        'FILE_TOO_LARGE',
        `${path}: ${sizeBytes} bytes is over the ${maxFileBytes}-byte limit`,
        { path, sizeBytes, maxBytes: maxFileBytes },
      );
    }
    await this.#parts.client.writeFile(target, pieces, {
      mode: options.mode ?? 0o644,
      createParents: options.createParents ?? false,
      append: options.append ?? false,
    });
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Buffer> {
    this.#assertAlive();
    const target = resolveSandboxPath(path);
    const maxBytes = Math.min(options.maxBytes ?? this.#parts.maxFileBytes, this.#parts.maxFileBytes);
    return this.#parts.client.readFile(target, maxBytes);
  }

  async listFiles(path: string): Promise<FileEntry[]> {
    this.#assertAlive();
    return this.#parts.client.list(resolveSandboxPath(path, { allowRoot: true }), MAX_LIST_ENTRIES);
  }

  async stats(): Promise<SandboxStats> {
    this.#assertAlive();
    const { spec } = this.#parts;
    const usage = await this.#parts.usage();
    return {
      memoryBytes: usage.memoryBytes,
      memoryPeakBytes: usage.memoryPeakBytes,
      memoryLimitBytes: spec.memoryBytes,
      pids: usage.pids,
      pidsLimit: spec.pids,
      cpuUsageMs: usage.cpuUsageMs,
      oomKills: usage.oomKills,
    };
  }

  async snapshot(): Promise<SandboxSnapshot> {
    this.#assertAlive();
    const { checkpoint, client, driver } = this.#parts;
    if (!checkpoint) {
      throw new AirlockError(
        'SANDBOX_UNAVAILABLE',
        `the ${driver} driver cannot checkpoint a running sandbox; use the gvisor driver, or session snapshots (files only)`,
        { driver, reason: 'no checkpoint' },
      );
    }
    return checkpoint(client.nextRequestId);
  }

  destroy(): Promise<void> {
    this.#end ??= { cause: 'destroyed', detail: 'destroyed by its owner' };
    this.#destroying ??= this.#teardown();
    return this.#destroying;
  }

  async #teardown(): Promise<void> {
    this.#parts.client.close(new Error('the sandbox was destroyed'));
    try {
      await this.#parts.teardown();
    } finally {
      rmSync(this.#parts.dir, { recursive: true, force: true });
    }
  }
}
