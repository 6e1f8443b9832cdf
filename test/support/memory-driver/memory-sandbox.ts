/**
 * A test double of the `Driver` and `Sandbox` interfaces that runs nothing on the host: commands are
 * interpreted by a tiny shell over an in-memory file system. It keeps the interface's contract
 * (exit status, separate streams, stdin, timeouts, abort, backpressure, captured output, path checks
 * and file limits, SANDBOX_DESTROYED after destroy) and passes the driver conformance suite; it
 * contains nothing, so it is never offered to users as a driver.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AirlockError } from '../../../src/errors/index.ts';
import {
  CapturedStream,
  defaultCaptureLimits,
  resolveSandboxPath,
  validateSpec,
  validateTimeoutMs,
} from '../../../src/sandbox/index.ts';
import type {
  Driver,
  DriverName,
  ExecOptions,
  ExecResult,
  FileEntry,
  OutputSink,
  ReadFileOptions,
  Sandbox,
  SandboxEnd,
  SandboxInfo,
  SandboxSpec,
  SandboxStats,
  WriteFileData,
  WriteFileOptions,
} from '../../../src/sandbox/index.ts';
import { FsError, MemoryFs } from './memory-fs.ts';
import { runScript } from './interpreter.ts';

export interface MemoryDriverOptions {
  /** The driver name sessions and audit records show. Default `bwrap`. */
  readonly name?: DriverName;
  /** Largest file copied in or out. Default 64 MiB, as the real drivers. */
  readonly maxFileBytes?: number;
  /** How long `create` takes, to test what happens while a sandbox is being made. Default 0. */
  readonly createDelayMs?: number;
}

export interface MemoryDriver extends Driver {
  /** Every sandbox this driver made, oldest first, for tests to inspect or crash. */
  readonly sandboxes: readonly MemorySandbox[];
  /** Makes the next `create` fail with this error (once). */
  failNextCreate(error: Error): void;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class MemorySandbox implements Sandbox {
  readonly id: string;
  readonly driver: DriverName;
  readonly info: SandboxInfo = { isolation: 'memory (test double)' };
  readonly ended: Promise<SandboxEnd>;
  readonly fs: MemoryFs;
  readonly #spec: SandboxSpec;
  readonly #maxFileBytes: number;
  readonly #spoolDir: string;
  readonly #running = new Set<AbortController>();
  #markEnded: (end: SandboxEnd) => void = () => undefined;
  #destroyed = false;
  #commands = 0;

  constructor(id: string, driver: DriverName, spec: SandboxSpec, maxFileBytes: number) {
    this.id = id;
    this.driver = driver;
    this.#spec = spec;
    this.#maxFileBytes = maxFileBytes;
    this.fs = new MemoryFs(spec.scratchBytes);
    this.#spoolDir = mkdtempSync(join(tmpdir(), 'airlock-memory-sandbox-'));
    this.ended = new Promise((resolve) => {
      this.#markEnded = resolve;
    });
  }

  /** Commands running now. */
  get runningCount(): number {
    return this.#running.size;
  }

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.#assertAlive();
    if (typeof command !== 'string' || command.length === 0) {
      throw new AirlockError('INVALID_ARGUMENT', 'the command is empty');
    }
    const timeoutMs = options.timeoutMs ?? this.#spec.timeoutMs;
    validateTimeoutMs(timeoutMs);
    const sequence = (this.#commands += 1);
    const stdout = new CapturedStream(join(this.#spoolDir, `${sequence}.stdout`), defaultCaptureLimits);
    const stderr = new CapturedStream(join(this.#spoolDir, `${sequence}.stderr`), defaultCaptureLimits);
    const startedAt = performance.now();
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort('timeout'), timeoutMs);
    const onAbort = (): void => stop.abort('killed');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    this.#running.add(stop);
    let exitCode: number | null = null;
    try {
      const cwd = options.cwd === undefined ? '/workspace' : MemoryFs.resolve('/', options.cwd);
      if (this.fs.get(cwd)?.kind !== 'directory') {
        stderr.write(
          Buffer.from(`airlock: cannot enter working directory ${cwd}: No such file or directory\n`),
        );
        exitCode = 127;
      } else {
        exitCode = await runScript(command, {
          fs: this.fs,
          env: { PATH: DEFAULT_PATH, HOME: '/workspace', LANG: 'C.UTF-8', ...this.#spec.env, ...options.env },
          cwd,
          signal: stop.signal,
          stdin: options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin),
          out: (chunk) => forward(stdout, options.stdoutTo, chunk, stop.signal),
          err: (chunk) => forward(stderr, options.stderrTo, chunk, stop.signal),
        });
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      this.#running.delete(stop);
      stdout.close();
      stderr.close();
    }
    const timedOut = stop.signal.reason === 'timeout';
    const killed = stop.signal.aborted && !timedOut;
    return {
      exitCode: stop.signal.aborted ? null : exitCode,
      signal: stop.signal.aborted ? 'SIGKILL' : null,
      timedOut,
      oomKilled: false,
      killed,
      stdout: stdout.text,
      stderr: stderr.text,
      stdoutStream: stdout,
      stderrStream: stderr,
      truncated: stdout.truncated || stderr.truncated,
      durationMs: performance.now() - startedAt,
    };
  }

  async writeFile(path: string, data: WriteFileData, options: WriteFileOptions = {}): Promise<void> {
    this.#assertAlive();
    const target = resolveSandboxPath(path);
    const bytes =
      typeof data === 'string' || data instanceof Uint8Array ? Buffer.from(data) : Buffer.concat(data);
    if (bytes.length > this.#maxFileBytes) {
      throw new AirlockError(
        'FILE_TOO_LARGE',
        `${path}: ${bytes.length} bytes is over the ${this.#maxFileBytes}-byte limit`,
        { path, sizeBytes: bytes.length, maxBytes: this.#maxFileBytes },
      );
    }
    this.#fileOp(path, () => {
      if (options.createParents === true) this.fs.mkdir(posix.dirname(target), true);
      this.fs.write(target, bytes, options.append === true);
    });
  }

  async readFile(path: string, options: ReadFileOptions = {}): Promise<Buffer> {
    this.#assertAlive();
    const target = resolveSandboxPath(path);
    const maxBytes = Math.min(options.maxBytes ?? this.#maxFileBytes, this.#maxFileBytes);
    const data = this.#fileOp(path, () => this.fs.read(target));
    if (data.length > maxBytes) {
      throw new AirlockError('FILE_TOO_LARGE', `${path}: file is larger than the limit`, {
        path,
        sizeBytes: data.length,
      });
    }
    return Buffer.from(data);
  }

  async listFiles(path: string): Promise<FileEntry[]> {
    this.#assertAlive();
    const target = resolveSandboxPath(path, { allowRoot: true });
    return this.#fileOp(path, () => {
      const node = this.fs.get(target);
      if (node === undefined) throw new FsError('ENOENT');
      if (node.kind !== 'directory') throw new FsError('ENOTDIR');
      return this.fs.list(target).map((child): FileEntry => {
        const entry = this.fs.get(child);
        return {
          name: posix.basename(child),
          kind: entry?.kind === 'directory' ? 'directory' : 'file',
          sizeBytes: entry?.kind === 'file' ? entry.data.length : 0,
          modifiedMs: entry?.modifiedMs ?? 0,
        };
      });
    });
  }

  async stats(): Promise<SandboxStats> {
    this.#assertAlive();
    return {
      memoryBytes: this.fs.totalBytes(),
      memoryPeakBytes: null,
      memoryLimitBytes: this.#spec.memoryBytes,
      pids: this.#running.size,
      pidsLimit: this.#spec.pids,
      cpuUsageMs: 0,
      oomKills: 0,
    };
  }

  async destroy(): Promise<void> {
    this.#end({ cause: 'destroyed', detail: 'destroyed by its owner' });
  }

  /** The sandbox dies on its own, as when its supervisor is killed from outside. */
  crash(): void {
    this.#end({ cause: 'exited', detail: 'the sandbox ended on its own' });
  }

  #end(end: SandboxEnd): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const running of this.#running) running.abort('killed');
    rmSync(this.#spoolDir, { recursive: true, force: true });
    this.#markEnded(end);
  }

  #assertAlive(): void {
    if (this.#destroyed) throw new AirlockError('SANDBOX_DESTROYED', `sandbox ${this.id} was destroyed`);
  }

  /** File-system failures as the supervisor client reports them. */
  #fileOp<T>(path: string, operation: () => T): T {
    try {
      return operation();
    } catch (error) {
      if (!(error instanceof FsError)) throw error;
      if (error.errno === 'ENOENT') {
        throw new AirlockError('NOT_FOUND', `${path}: no such file or directory`, { path });
      }
      throw new AirlockError('INVALID_ARGUMENT', `${path}: ${error.message}`, { path, errno: error.errno });
    }
  }
}

/** Captures a chunk and passes it to a live sink, waiting while the sink is full. */
async function forward(
  capture: CapturedStream,
  sink: OutputSink | undefined,
  chunk: Buffer,
  signal: AbortSignal,
): Promise<void> {
  signal.throwIfAborted();
  capture.write(chunk);
  if (sink === undefined || sink.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      signal.removeEventListener('abort', done);
      resolve();
    };
    sink.once('drain', done);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function createMemoryDriver(options: MemoryDriverOptions = {}): MemoryDriver {
  const name = options.name ?? 'bwrap';
  const sandboxes: MemorySandbox[] = [];
  let nextFailure: Error | null = null;
  let count = 0;
  return {
    name,
    sandboxes,
    failNextCreate(error) {
      nextFailure = error;
    },
    async create(spec) {
      const valid = validateSpec(spec);
      if (options.createDelayMs) await new Promise((resolve) => setTimeout(resolve, options.createDelayMs));
      if (nextFailure !== null) {
        const failure = nextFailure;
        nextFailure = null;
        throw failure;
      }
      count += 1;
      const sandbox = new MemorySandbox(
        `mem${process.pid}x${count}`,
        name,
        valid,
        options.maxFileBytes ?? 64 * 1024 * 1024,
      );
      sandboxes.push(sandbox);
      return sandbox;
    },
    sweepStale: async () => 0,
    close: async () => undefined,
  };
}
