import type { CapturedStream } from './output/index.ts';
import type { ExecInput, FileEntry } from './supervisor/index.ts';

export type { ExecInput };

export type DriverName = 'bwrap' | 'gvisor' | 'docker';

/** What a sandbox is allowed to use. Every limit is mandatory: absence never means unlimited. */
export interface SandboxSpec {
  /** `host`: the host's system directories read-only; otherwise a rootfs directory. */
  image: string;
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** Size of each writable tmpfs (/tmp and /workspace). */
  scratchBytes: number;
  /** The only environment variables commands see, on top of PATH/HOME/LANG defaults. */
  env: Readonly<Record<string, string>>;
  /** Default per-command timeout. */
  timeoutMs: number;
  /** The way out through the egress proxy; absent: no network at all, only the sandbox's loopback. */
  egress?: SandboxEgress;
}

/**
 * A session's door to the egress proxy: a host directory holding the proxy's socket for this session
 * (and, when the session has secrets, its CA files). It is mounted read-only into the sandbox (see
 * egress-mount.ts), and the supervisor bridges 127.0.0.1:3128 to the socket.
 */
export interface SandboxEgress {
  /** Absolute host directory; only this session's files are in it. */
  readonly directory: string;
  /** The socket's file name in it. */
  readonly socket: string;
  /** File names in it of the session CA and of the bundle with it; absent without secrets. */
  readonly caCertificate?: string;
  readonly caBundle?: string;
}

/** The part of a Node Writable that streaming output needs. */
export interface OutputSink {
  write(chunk: Buffer): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export interface ExecOptions {
  timeoutMs?: number;
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  stdin?: string | Uint8Array;
  /**
   * Live output, e.g. to a terminal; the result still carries the captured text. When a sink's
   * `write` returns false, the command's output is paused until the sink emits 'drain'.
   */
  stdoutTo?: OutputSink;
  /**
   * False: stdout goes to `stdoutTo` only, and the result's stdout is empty. For a stream that is
   * only ever read through the sink (a tree packed by the sandbox's tar), so that it is not also kept
   * in memory and spooled to the host's disk as the command's output.
   */
  captureStdout?: boolean;
  stderrTo?: OutputSink;
  /** Aborting kills the command's whole process tree. */
  signal?: AbortSignal;
  /**
   * Keep the command's stdin open for input while it runs, on a pseudo-terminal of `pty`'s size when
   * given (made inside the sandbox; stdout then carries the terminal's output, stderr nothing).
   * `attach` gets the command's input as soon as the command is sent.
   */
  interactive?: {
    readonly pty?: { readonly cols: number; readonly rows: number };
    attach(input: ExecInput): void;
  };
}

export interface ExecResult {
  /** null when the command was ended by a signal. */
  exitCode: number | null;
  /** e.g. 'SIGKILL'; null on a normal exit. */
  signal: string | null;
  timedOut: boolean;
  /** The memory limit was hit and the kernel killed the command. */
  oomKilled: boolean;
  /** Killed on request (abort signal or kill). */
  killed: boolean;
  stdout: string;
  stderr: string;
  /** Full streams: total bytes produced, the stored part pageable with `read`. */
  stdoutStream: CapturedStream;
  stderrStream: CapturedStream;
  /** stdout or stderr was longer than the in-memory text. */
  truncated: boolean;
  durationMs: number;
}

export interface SandboxStats {
  memoryBytes: number;
  memoryPeakBytes: number | null;
  memoryLimitBytes: number;
  pids: number;
  pidsLimit: number;
  cpuUsageMs: number;
  oomKills: number;
}

export interface WriteFileOptions {
  mode?: number;
  /** Create missing parent directories (inside the writable areas only). */
  createParents?: boolean;
  /** Add to the end of the file (created if missing) instead of replacing what it holds. */
  append?: boolean;
}

/**
 * What `writeFile` writes: text (UTF-8), bytes, or bytes in pieces written in order. Bytes are not
 * copied: leave them unchanged until the write settles.
 */
export type WriteFileData = string | Uint8Array | readonly Uint8Array[];

export interface ReadFileOptions {
  maxBytes?: number;
}

export type { FileEntry };

/**
 * What keeps a session's commands away from the supervisor (the one process holding the channel to
 * the control plane) and from each other's processes, as the sandbox itself reported it at start.
 */
export interface ProcessIsolation {
  /**
   * The host uid (and gid) the sandbox's processes run as: one of `sandbox.uidRange` that no other
   * session holds, so per-user kernel limits, signals and /proc never cross sessions. The control
   * plane's own uid when it cannot switch (bwrap without root: every session shares it). null under
   * gVisor, whose processes are not host processes: every per-user limit is the sentry's own.
   */
  readonly hostUid: number | null;
  /** The supervisor is the sandbox's pid 1: the kernel keeps commands from signalling it. */
  readonly supervisorIsPid1: boolean;
  /**
   * Commands run as another uid than the supervisor and its keepers (gVisor, Docker with runsc):
   * signals, ptrace and /proc access to them are refused by uid as well.
   */
  readonly separateUid: boolean;
  /**
   * The Landlock ABI each command is confined with: a command can trace, or open /proc/<pid>/mem
   * of, only its own processes. null where the kernel has no Landlock (gVisor has its own kernel).
   */
  readonly landlockAbi: number | null;
  /**
   * The host kernel's Yama ptrace_scope (0 to 3), null without Yama, or under gVisor, whose kernel
   * is its own. Airlock does not rely on it; it is reported because it adds to the above.
   */
  readonly yamaPtraceScope: number | null;
}

/** How a sandbox is isolated, for session_info and the audit log. */
export interface SandboxInfo {
  /** e.g. `gvisor`, `docker/runc`, `docker/runsc`. */
  readonly isolation: string;
  /** gVisor: the platform the sentry intercepts syscalls with (`systrap`, `ptrace`, `kvm`). */
  readonly platform?: string;
  /** Docker: the OCI runtime the container runs under (`runc`, `runsc`). */
  readonly runtime?: string;
  /** Docker: the image the container was made from. */
  readonly image?: string;
  /** What keeps commands from the supervisor's channel and from each other's processes. */
  readonly processes?: ProcessIsolation;
}

/**
 * A checkpoint of a whole running sandbox (memory, processes, scratch), made by a driver that can
 * (gVisor: runsc checkpoint). Opaque: hand it back to `restore` of a driver of the same kind and
 * state directory.
 */
export interface SandboxSnapshot {
  readonly driver: DriverName;
  readonly id: string;
  readonly createdAtMs: number;
  readonly sizeBytes: number;
}

/**
 * Why a sandbox ended: `destroyed` by its owner; `exited` on its own (killed from outside, out of
 * memory, its helper crashed); `protocol_violation` when Airlock ended it because what came out of
 * it broke the supervisor protocol (a command that took over the channel, say). `detail` is for
 * people and the audit log.
 */
export interface SandboxEnd {
  readonly cause: 'destroyed' | 'exited' | 'protocol_violation';
  readonly detail: string;
}

export interface Sandbox {
  readonly id: string;
  readonly driver: DriverName;
  /** Set by drivers with more than one way to isolate (gVisor platform, Docker runtime). */
  readonly info?: SandboxInfo;
  exec(command: string, options?: ExecOptions): Promise<ExecResult>;
  writeFile(path: string, data: WriteFileData, options?: WriteFileOptions): Promise<void>;
  readFile(path: string, options?: ReadFileOptions): Promise<Buffer>;
  listFiles(path: string): Promise<FileEntry[]>;
  stats(): Promise<SandboxStats>;
  /**
   * Checkpoints the running sandbox, which keeps running. Take it between commands: a command in
   * flight at the moment is restored without anyone waiting for its output. Refused with
   * SANDBOX_UNAVAILABLE by drivers that cannot checkpoint.
   */
  snapshot?(): Promise<SandboxSnapshot>;
  /** Kills every process and removes every host-side trace. Idempotent. */
  destroy(): Promise<void>;
  /** Resolves when the sandbox ends, for whatever reason, and says which. */
  readonly ended: Promise<SandboxEnd>;
}

export interface Driver {
  readonly name: DriverName;
  create(spec: SandboxSpec): Promise<Sandbox>;
  /** Starts a new sandbox from a snapshot this kind of driver made; absent when it cannot. */
  restore?(snapshot: SandboxSnapshot): Promise<Sandbox>;
  /** Removes leftovers of control planes that died without destroying their sandboxes. */
  sweepStale(): Promise<number>;
  /** Releases what the driver holds itself (pre-warmed sandboxes); live sandboxes stay the caller's. */
  close(): Promise<void>;
}
