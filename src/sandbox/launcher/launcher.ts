import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { AirlockError } from '../../errors/index.ts';
import type { LauncherPlan } from './launcher-plan.ts';
import { encodeInstructions } from './launcher-plan.ts';

const STDERR_KEEP_BYTES = 16 * 1024;
/** A glog info, warning or debug line, as runsc writes before its logs are set up: `W1127 15:39:17.533640 30137 file.go:48] ...`. */
const GLOG_NOTICE = /^[IWD]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ \S+:\d+\] /;

/**
 * A launcher process, started (possibly ahead of need) inside its session's cgroups and waiting on
 * its instructions fd. `start` hands it the bwrap argv; `abandon` makes it exit without running
 * anything.
 */
export interface Launcher {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  start(argv: readonly string[]): void;
  abandon(): Promise<void>;
  /**
   * The first line bwrap, runsc or the launcher printed, for error messages. runsc's own log notices
   * (glog-style info, warning and debug lines) come before its error and are passed over.
   */
  firstErrorLine(): string;
}

export function spawnLauncher(plan: LauncherPlan): Launcher {
  const openedFds: number[] = [];
  let child: ChildProcess;
  try {
    const stdio: StdioOptions = ['pipe', 'pipe', 'pipe'];
    for (const { fd, source } of plan.fds) {
      if (source.kind === 'file') {
        const opened = openSync(source.path, 'r');
        openedFds.push(opened);
        stdio[fd] = opened;
      } else {
        stdio[fd] = 'pipe';
      }
    }
    // Own process group: a Ctrl-C at the terminal reaches the control plane, which stops the
    // command cleanly, instead of killing bwrap under it. --die-with-parent still ties the
    // sandbox's life to ours.
    child = spawn(plan.file, plan.args, {
      stdio,
      env: plan.env,
      cwd: plan.cwd,
      shell: false,
      detached: true,
    });
  } catch (error) {
    throw new AirlockError(
      'SANDBOX_UNAVAILABLE',
      `cannot start the sandbox launcher: ${(error as Error).message}`,
      {},
      {
        cause: error,
      },
    );
  } finally {
    for (const fd of openedFds) closeSync(fd);
  }
  let instructions: Writable | undefined;
  for (const { fd, source } of plan.fds) {
    const stream = child.stdio[fd] as Writable | null;
    if (source.kind === 'data') stream?.end(source.data);
    if (source.kind === 'instructions') instructions = stream ?? undefined;
  }
  const stderrChunks: Buffer[] = [];
  let stderrBytes = 0;
  child.stderr?.on('data', (chunk: Buffer) => {
    if (stderrBytes >= STDERR_KEEP_BYTES) return;
    stderrChunks.push(chunk);
    stderrBytes += chunk.length;
  });
  // A launcher that dies while parked closes these pipes; their errors must not go unhandled.
  for (const stream of child.stdio) stream?.on('error', () => {});
  // A launcher that cannot be started at all (EACCES, ENOMEM) reports it as an 'error' event, which
  // would end the whole control plane unheard; it counts as this launcher's exit, with the reason.
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.on('error', (error) => {
      spawnError ??= error;
      if (child.pid === undefined) resolve(); // never started: no 'exit' will follow
    });
  });
  return {
    child,
    exited,
    start(argv) {
      instructions?.end(encodeInstructions(argv));
    },
    async abandon() {
      // End of file on the instructions fd: the launcher exits without running anything.
      instructions?.end();
      child.kill('SIGKILL');
      await exited;
    },
    firstErrorLine() {
      if (spawnError && child.pid === undefined) return `cannot start the launcher: ${spawnError.message}`;
      const lines = Buffer.concat(stderrChunks).toString('utf8').trim().split('\n');
      return lines.find((line) => !GLOG_NOTICE.test(line)) ?? lines[0] ?? '';
    },
  };
}
