import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AirlockError } from '../../../errors/index.ts';
import type { SessionCgroup } from '../../cgroups/index.ts';
import type { CaptureLimits } from '../../output/index.ts';
import { CapturedStream, LiveOutput } from '../../output/index.ts';
import { resolveSandboxPath } from '../../paths.ts';
import { SUPERVISOR_GRACE_MS, validateEnv, validateTimeoutMs } from '../../spec.ts';
import { SupervisorRequestError } from '../../supervisor/client.ts';
import type { SupervisorClient } from '../../supervisor/client.ts';
import type {
  ExecOptions,
  ExecResult,
  FileEntry,
  ReadFileOptions,
  Sandbox,
  SandboxSpec,
  SandboxStats,
  WriteFileOptions,
} from '../../types.ts';
import { commandEnvironment } from './plan.ts';

export interface BwrapSandboxParts {
  id: string;
  spec: SandboxSpec;
  child: ChildProcess;
  exited: Promise<void>;
  client: SupervisorClient;
  cgroup: SessionCgroup;
  dir: string;
  shell: { path: string; args: string[] };
  captureLimits: CaptureLimits;
  maxFileBytes: number;
}

const MAX_COMMAND_BYTES = 1024 * 1024;
const EAGAIN = 11;
/**
 * Full outputs stay pageable on disk for the latest commands only (each stream is capped by
 * `maxStoredBytes`); an older one keeps its in-memory head. Bounds a session's disk use.
 */
const MAX_SPOOLED_STREAMS = 32;
/** A listing larger than this is refused rather than held in memory. */
const MAX_LIST_ENTRIES = 10_000;

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, number]) => [number, name] as [number, string]),
);

export class BwrapSandbox implements Sandbox {
  readonly id: string;
  readonly driver = 'bwrap' as const;
  readonly ended: Promise<void>;
  readonly #parts: BwrapSandboxParts;
  #destroying: Promise<void> | undefined;
  #commandCount = 0;
  /** Spooled outputs, oldest first; only the latest are kept so a long session's disk use is bounded. */
  readonly #spooled: CapturedStream[] = [];

  constructor(parts: BwrapSandboxParts) {
    this.#parts = parts;
    this.id = parts.id;
    this.ended = parts.exited;
    // A sandbox that dies on its own (its supervisor was killed from inside) still gets its
    // host-side traces removed. A failure there surfaces to whoever calls destroy(); it must not
    // become an unhandled rejection that takes the control plane down.
    void parts.exited.then(() => this.destroy()).catch(() => {});
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
    const { client, cgroup, shell, captureLimits, dir } = this.#parts;
    const sequence = ++this.#commandCount;
    const stdout = new CapturedStream(join(dir, `${sequence}.stdout`), captureLimits);
    const stderr = new CapturedStream(join(dir, `${sequence}.stderr`), captureLimits);
    const oomBefore = await cgroup.oomKillCount();
    const startedAt = performance.now();
    const stdin = options.stdin === undefined ? Buffer.alloc(0) : Buffer.from(options.stdin);

    const live = new LiveOutput(() => client.pauseOutput());
    const { id, exited } = client.exec(
      {
        executable: shell.path,
        argv: [shell.path, ...shell.args, command],
        env: commandEnvironment(this.#parts.spec.env, options.env),
        cwd,
        timeoutMs,
        stdin,
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
    const onAbort = (): void => {
      client.kill(id);
      live.stop();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    // The supervisor enforces the timeout itself; this only catches a supervisor that stopped answering.
    const backstop = setTimeout(() => void this.destroy(), timeoutMs + SUPERVISOR_GRACE_MS);
    try {
      const exit = await exited;
      const oomKilled = !exit.timedOut && (await cgroup.oomKillCount()) > oomBefore;
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
      stdout.discard();
      stderr.discard();
      if (error instanceof AirlockError) throw error;
      if (error instanceof SupervisorRequestError && error.errno === EAGAIN) {
        throw new AirlockError('LIMIT_REACHED', error.message, { limit: 'pids' }, { cause: error });
      }
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

  async writeFile(path: string, data: string | Uint8Array, options: WriteFileOptions = {}): Promise<void> {
    this.#assertAlive();
    const target = resolveSandboxPath(path);
    const bytes = Buffer.from(data);
    if (bytes.length > this.#parts.maxFileBytes) {
      throw new AirlockError(
        'FILE_TOO_LARGE',
        `${path}: ${bytes.length} bytes is over the ${this.#parts.maxFileBytes}-byte limit`,
        {
          path,
          sizeBytes: bytes.length,
          maxBytes: this.#parts.maxFileBytes,
        },
      );
    }
    await this.#parts.client.writeFile(target, bytes, options.mode ?? 0o644, options.createParents ?? false);
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
    const { cgroup, spec } = this.#parts;
    const [usage, oomKills] = await Promise.all([cgroup.stats(), cgroup.oomKillCount()]);
    return {
      memoryBytes: usage.memoryBytes,
      memoryPeakBytes: usage.memoryPeakBytes ?? null,
      memoryLimitBytes: spec.memoryBytes,
      pids: usage.pids,
      pidsLimit: spec.pids,
      cpuUsageMs: usage.cpuUsageNs / 1e6,
      oomKills,
    };
  }

  destroy(): Promise<void> {
    this.#destroying ??= this.#teardown();
    return this.#destroying;
  }

  async #teardown(): Promise<void> {
    const { child, exited, client, cgroup, dir } = this.#parts;
    client.close(new Error('the sandbox was destroyed'));
    // Killing bwrap ends the sandbox's pid namespace (its init gets SIGKILL via --die-with-parent),
    // which takes every process inside with it; the cgroup sweep below catches any straggler.
    child.kill('SIGKILL');
    await exited;
    await cgroup.remove();
    rmSync(dir, { recursive: true, force: true });
  }
}
