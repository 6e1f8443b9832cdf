/**
 * `airlock shell [SESSION] --url URL`, in the manner of `docker exec -it`: an interactive shell on a
 * terminal made inside the session's sandbox, reached over the terminal WebSocket. The local terminal
 * is raw while it runs (Ctrl-C, Ctrl-D and every other key go to the remote shell) and is put back on
 * every way out. Without SESSION a new session is made and ended with the shell (unless `--keep`).
 *
 * The shell is a command like any other: the policy judges it (the default policies ask a person
 * before a shell starts, since they cannot see what will be typed into it), it has a time limit, and
 * what is typed is recorded in the audit log, redacted.
 */
import type { Command } from 'commander';
import { parseDuration } from '../config/index.ts';
import { isAirlockError } from '../errors/index.ts';
import { AirlockClient, isAirlockApiError } from '../sdk/index.ts';
import type { PolicyPreset, PtyExit, RunResult, SandboxSession } from '../sdk/index.ts';
import type { CliContext } from './context.ts';
import { enterRawMode, isInteractiveInput, terminalSize } from './raw-terminal.ts';
import type { RawTerminal } from './raw-terminal.ts';
import { isLoopbackHost } from './loopback.ts';
import { adminTokenFor, parseServerUrl } from './remote-access.ts';
import { interruptExitCodes } from './terminal.ts';

export const shellExitCodes = { failed: 1, usage: 2, timedOut: 124, unavailable: 125, denied: 126 } as const;

/** The default command: a POSIX shell is in every image; `--command bash` for bash (a shell on a terminal is interactive). */
const DEFAULT_COMMAND = 'sh -i';
/** The server's default maximum for one command. */
const DEFAULT_TIMEOUT = '10m';
const APPROVAL_POLL_MS = 1000;
/** A shell that ran (one that has ended already is attached to for its output and exit). */
const ran: ReadonlySet<RunResult['status']> = new Set(['running', 'completed', 'timed_out', 'killed']);

interface ShellFlags {
  url?: string;
  command: string;
  timeout: string;
  policy?: string;
  keep?: boolean;
}

export function registerShellCommand(program: Command, context: CliContext): void {
  program
    .command('shell')
    .description('An interactive shell in a session’s sandbox, on a terminal (like docker exec -it).')
    .argument('[session]', 'the session to open it in (ses_…); default: a new one, ended with the shell')
    .option('--url <url>', 'the airlock serve to use, e.g. http://127.0.0.1:7400')
    .option('--command <command>', 'what runs on the terminal', DEFAULT_COMMAND)
    .option(
      '--timeout <duration>',
      'the shell is ended after this long (at most the server’s maximum)',
      DEFAULT_TIMEOUT,
    )
    .option('--policy <preset>', 'the policy of a new session (readonly, coding-agent, permissive)')
    .option('--keep', 'keep a new session after the shell ends (its id is printed)')
    .addHelpText(
      'after',
      `
Examples:
  airlock shell --url http://127.0.0.1:7400
  airlock shell ses_abc --url http://127.0.0.1:7400 --command bash
Every key goes to the remote shell, Ctrl-C included; leave with exit or Ctrl-D. When the policy asks
a person first, the shell waits for the approval (airlock approvals --url …). Exit status: the
shell's own; 124 when it reached --timeout; 126 when refused; 1 when the connection failed; 2 usage.
`,
    )
    .action(async (sessionId: string | undefined, flags: ShellFlags) => {
      context.setExitCode(await shell(sessionId, flags, context));
    });
}

async function shell(sessionId: string | undefined, flags: ShellFlags, context: CliContext): Promise<number> {
  if (!isInteractiveInput(context)) {
    context.stderr.error(
      'airlock shell needs a terminal, and standard input is not one: run it from a terminal, or use ' +
        'airlock exec (or the SDK) for commands without one',
    );
    return shellExitCodes.usage;
  }
  let client: AirlockClient;
  let timeoutMs: number;
  try {
    if (flags.url === undefined) throw new Error('give --url, the address airlock serve printed');
    const url = parseServerUrl(flags.url);
    timeoutMs = parseDuration(flags.timeout, { label: '--timeout' });
    client = new AirlockClient({ url, token: adminTokenFor(url, context).token });
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      context.stderr.warn(
        `the admin token and every key typed go to ${url.host} unencrypted over http: use https, or an SSH tunnel to 127.0.0.1`,
      );
    }
  } catch (error) {
    context.stderr.error(messageOf(error));
    return shellExitCodes.usage;
  }
  const ownSession = sessionId === undefined;
  let session: SandboxSession | null = null;
  try {
    session = ownSession
      ? await client.sessions.create(
          flags.policy === undefined ? {} : { policy: flags.policy as PolicyPreset },
        )
      : await client.sessions.connect(sessionId);
    return await runShell(session, flags.command, timeoutMs, context);
  } catch (error) {
    context.stderr.error(messageOf(error));
    return isAirlockApiError(error) && error.code === 'INVALID_ARGUMENT'
      ? shellExitCodes.usage
      : shellExitCodes.failed;
  } finally {
    if (session !== null && ownSession) {
      if (flags.keep === true) context.stderr.warn(`session ${session.id} is kept (--keep)`);
      else await session.destroy().catch(() => undefined);
    }
  }
}

async function runShell(
  session: SandboxSession,
  command: string,
  timeoutMs: number,
  context: CliContext,
): Promise<number> {
  const initial = terminalSize(context);
  const started = await session.start(command, { interactive: { pty: initial }, timeoutMs });
  const interrupted = new AbortController();
  const stopListening = context.onInterrupt(() => interrupted.abort());
  let raw: RawTerminal | null = null;
  try {
    const state = await waitUntilRunning(started.id, session, interrupted.signal, context);
    if (!ran.has(state.status)) return reportNotRunning(state, context);
    const terminal = await session.pty.connect(state.id, {
      onData: (data) => context.stdout.write(data),
    });
    interrupted.signal.addEventListener('abort', () => terminal.close(), { once: true });
    raw = enterRawMode(context, {
      onInput: (chunk) => terminal.write(chunk),
      onResize: (now) => terminal.resize(now.cols, now.rows),
    });
    // The window may have changed while the shell started.
    const now = raw.size();
    if (now.cols !== initial.cols || now.rows !== initial.rows) terminal.resize(now.cols, now.rows);
    const exit = await terminal.wait().catch((error: unknown) => {
      if (interrupted.signal.aborted) return null;
      throw error;
    });
    raw.restore();
    if (exit === null) {
      await started.kill().catch(() => undefined);
      return interruptExitCodes.signal;
    }
    return exitCodeOf(exit, context);
  } catch (error) {
    // The connection broke: the shell itself would go on, with nobody at its terminal.
    await started.kill().catch(() => undefined);
    if (interrupted.signal.aborted) return interruptExitCodes.signal;
    throw error;
  } finally {
    raw?.restore();
    stopListening();
  }
}

/** A shell a person must approve first waits here, saying so; Ctrl-C withdraws it. */
async function waitUntilRunning(
  id: string,
  session: SandboxSession,
  signal: AbortSignal,
  context: CliContext,
): Promise<RunResult> {
  let state = await session.commands.get(id, { signal });
  if (state.status === 'pending_approval') {
    context.stderr.warn(
      `waiting for a person to approve the shell (${state.reasons.join('; ')}); ` +
        `approve it with airlock approvals${state.approvalId === null ? '' : ` (request ${state.approvalId})`}, ` +
        'or press Ctrl-C to withdraw it',
    );
  }
  while (state.status === 'pending_approval') {
    await new Promise((resolve) => setTimeout(resolve, APPROVAL_POLL_MS));
    if (signal.aborted) throw signal.reason;
    state = await session.commands.get(id, { signal });
  }
  return state;
}

function reportNotRunning(state: RunResult, context: CliContext): number {
  context.stderr.error(
    `the shell did not start (${state.status}): ${state.reasons.join('; ') || state.forModel}`,
  );
  return state.status === 'denied' ? shellExitCodes.denied : shellExitCodes.unavailable;
}

function exitCodeOf(exit: PtyExit, context: CliContext): number {
  switch (exit.status) {
    case 'completed':
      return exit.exitCode ?? shellExitCodes.failed;
    case 'timed_out':
      context.stderr.write('\n');
      context.stderr.warn('the shell reached its time limit (--timeout) and was ended');
      return shellExitCodes.timedOut;
    default:
      // The remote prompt may have left the cursor mid-line.
      context.stderr.write('\n');
      context.stderr.warn(`the shell ended (${exit.status}): ${exit.result.forModel.split('\n')[0] ?? ''}`);
      return exit.exitCode ?? shellExitCodes.failed;
  }
}

function messageOf(error: unknown): string {
  if (isAirlockApiError(error) || isAirlockError(error) || error instanceof Error) return error.message;
  return String(error);
}
