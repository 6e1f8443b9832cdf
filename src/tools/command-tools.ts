/**
 * run_command and the tools that follow a command up: command_status, kill_command, read_output.
 */
import { z } from 'zod';
import type { Session } from '../airlock/index.ts';
import type { RunOptions, RunResult } from '../router/index.ts';
import { reportCommandApprovalWait } from './approval-progress.ts';
import type { ToolCall, ToolRegistrar } from './registrar.ts';
import type { ToolContext } from './tool-context.ts';
import { commandResult, commandResultShape, okResult, statusMeanings } from './tool-results.ts';

/** Longest command_status may hold a call open; longer waits are several calls. */
const MAX_STATUS_WAIT_S = 300;
/** Largest read_output page, in characters: more would flood the model's context in one call. */
export const MAX_PAGE_CHARS = 100_000;

const statusList = Object.entries(statusMeanings)
  .map(([status, meaning]) => `${status}: ${meaning}`)
  .join('; ');

export function registerCommandTools(server: ToolRegistrar, context: ToolContext): void {
  const helpers = commandHelpers(context);
  registerRunCommand(server, context, helpers);
  registerCommandStatus(server, context, helpers);
  registerKillCommand(server, context, helpers);
  registerReadOutput(server, context, helpers);
}

type CommandHelpers = ReturnType<typeof commandHelpers>;

/** What the command tools share: the ownership scope, and waiting on a person with progress. */
function commandHelpers(context: ToolContext) {
  const { airlock, sessions } = context;
  /**
   * Commands and outputs of the sessions this connection had: any other is answered exactly like one
   * that does not exist, so an id cannot be used to learn whether another session's command exists.
   */
  const within = (sessionId: string): boolean => sessions.owns(sessionId);
  const ownedCommand = (commandId: string): Promise<RunResult> => airlock.commands.get(commandId, { within });

  /** Progress while a command waits for its approval, then while it runs once approved. */
  const reportWait = (approvalId: string | null, extra: ToolCall): (() => void) =>
    approvalId === null
      ? () => undefined
      : reportCommandApprovalWait(airlock, extra, approvalId, {
          intervalMs: context.progressIntervalMs,
          now: context.now,
        });

  /**
   * The command's result once it ends, or its latest state after `ms` (or when the call is cancelled):
   * the command itself goes on either way.
   */
  const waitAtMost = async (
    session: Session,
    commandId: string,
    ms: number | undefined,
    signal: AbortSignal,
  ): Promise<RunResult> => {
    const bounded = ms === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(ms)]);
    try {
      return await session.commands.wait(commandId, { signal: bounded });
    } catch (error) {
      // The client cancelled (a foreground command's own signal stops it) or the bound passed.
      if (bounded.aborted) return session.commands.get(commandId);
      throw error;
    }
  };

  /** Whether the person decided within `ms`; the request stays open either way. */
  const decidedWithin = async (approvalId: string, ms: number, signal: AbortSignal): Promise<boolean> => {
    if (ms <= 0) return false;
    const bounded = AbortSignal.any([signal, AbortSignal.timeout(ms)]);
    try {
      await airlock.approvals.waitFor(approvalId, { signal: bounded });
      return true;
    } catch (error) {
      if (bounded.aborted) return false;
      throw error;
    }
  };

  /**
   * Waits, with progress notifications, until the person decides and the command has run, each wait
   * bounded by the context's approvalWaitMs and commandWaitMs when it sets them: past a bound the
   * answer is the command's state then, and it goes on without the call.
   */
  const settle = async (session: Session, pending: RunResult, extra: ToolCall): Promise<RunResult> => {
    const stop = reportWait(pending.approvalId, extra);
    try {
      const { approvalWaitMs } = context;
      if (approvalWaitMs !== undefined && pending.approvalId !== null) {
        const decided = await decidedWithin(pending.approvalId, approvalWaitMs, extra.signal);
        if (!decided) return await session.commands.get(pending.id);
      }
      return await waitAtMost(session, pending.id, context.commandWaitMs, extra.signal);
    } finally {
      stop();
    }
  };
  return { within, ownedCommand, reportWait, settle, waitAtMost };
}

/** What run_command's description says of waiting, by how this surface bounds its waits. */
function waitingText(context: ToolContext): string {
  const approval =
    context.approvalWaitMs === undefined
      ? 'ask a person to approve it (the call waits for their decision)'
      : context.approvalWaitMs === 0
        ? 'ask a person to approve it (the call answers pending_approval at once; the command runs ' +
          'when they approve: follow it up with command_status)'
        : `ask a person to approve it (the call waits up to ${context.approvalWaitMs / 1000} s for ` +
          'their decision, then answers pending_approval: follow it up with command_status)';
  const running =
    context.commandWaitMs === undefined
      ? ''
      : ` A command still running after ${context.commandWaitMs / 1000} s goes on in the background ` +
        'and the call answers running: do other work meanwhile, or wait for it with command_status.';
  return `The policy may deny a command (the result says why and what is allowed) or ${approval}.${running}`;
}

function registerRunCommand(server: ToolRegistrar, context: ToolContext, helpers: CommandHelpers): void {
  const { guard } = context;
  const { settle, waitAtMost } = helpers;
  server.registerTool(
    'run_command',
    {
      title: 'Run a shell command',
      description:
        "Run a shell command (bash syntax) in this session's sandbox, in /workspace, with no network. " +
        "Files persist between calls for the session's life. " +
        `${waitingText(context)} Long output is cut: page the rest with ` +
        `read_output. Statuses: ${statusList}.`,
      inputSchema: {
        command: z.string().min(1).describe('the command line, e.g. "npm test" or "ls -la src"'),
        timeout_s: z
          .number()
          .positive()
          .optional()
          .describe("seconds before it is killed with every process it started; default the session's"),
        background: z
          .boolean()
          .optional()
          .describe('return at once with a command id; follow it up with command_status'),
      },
      outputSchema: commandResultShape,
      annotations: {
        title: 'Run a shell command',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        // Sandboxes have no network at all (network allow-lists are not implemented by the sandbox
        // stage yet, so an allow-list in airlock.yaml still means none).
        openWorldHint: false,
      },
    },
    ({ command, timeout_s, background }, extra) =>
      guard(async () => {
        const session = await context.sessions.get();
        // With a bound on the wait, the command must be able to outlive the call: it runs detached
        // (as a background command, with live output) and the call waits for it at most that long.
        const detached = background === true || context.commandWaitMs !== undefined;
        const runOptions: RunOptions = {
          waitForApproval: false,
          // Rounded up: a positive timeout of under a millisecond is the shortest one, never none.
          ...(timeout_s === undefined ? {} : { timeoutMs: Math.max(1, Math.ceil(timeout_s * 1000)) }),
          // A foreground command ends with the call that asked for it (a cancelled call kills it);
          // a background one outlives the call by design.
          ...(detached ? { background: true } : { signal: extra.signal }),
        };
        const first = await session.run(command, runOptions);
        if (background === true) return commandResult(first);
        if (first.status === 'pending_approval') {
          const final = await settle(session, first, extra);
          const preface =
            final.status === 'denied' || final.status === 'pending_approval'
              ? undefined
              : `a person approved it (approval ${first.approvalId}).`;
          return commandResult(final, preface);
        }
        if (first.status !== 'running') return commandResult(first);
        const final = await waitAtMost(session, first.id, context.commandWaitMs, extra.signal);
        const preface =
          final.status === 'running' && context.commandWaitMs !== undefined
            ? `still running after ${context.commandWaitMs / 1000} s; it goes on in the background.`
            : undefined;
        return commandResult(final, preface);
      }),
  );
}

function registerCommandStatus(server: ToolRegistrar, context: ToolContext, helpers: CommandHelpers): void {
  const { airlock, guard } = context;
  const { within, ownedCommand, reportWait } = helpers;
  server.registerTool(
    'command_status',
    {
      title: 'Check a command',
      description:
        'Status and output so far of a command run_command started (a background one, or one that ' +
        'waited for approval). With wait_s, waits up to that many seconds for it to finish.',
      inputSchema: {
        command_id: z.string().min(1).describe('the commandId run_command returned (cmd_…)'),
        wait_s: z
          .number()
          .min(0)
          .max(MAX_STATUS_WAIT_S)
          .optional()
          .describe('seconds to wait for it to finish before answering; default 0'),
      },
      outputSchema: commandResultShape,
      annotations: { title: 'Check a command', readOnlyHint: true, openWorldHint: false },
    },
    ({ command_id, wait_s }, extra) =>
      guard(async () => {
        const found = await ownedCommand(command_id);
        const unfinished = found.status === 'running' || found.status === 'pending_approval';
        if (!unfinished || wait_s === undefined || wait_s === 0) return commandResult(found);
        const waitSignal = AbortSignal.any([extra.signal, AbortSignal.timeout(wait_s * 1000)]);
        const stop =
          found.status === 'pending_approval' ? reportWait(found.approvalId, extra) : () => undefined;
        try {
          return commandResult(await airlock.commands.wait(command_id, { signal: waitSignal, within }));
        } catch (error) {
          if (!waitSignal.aborted) throw error;
          return commandResult(await airlock.commands.get(command_id, { within }));
        } finally {
          stop();
        }
      }),
  );
}

function registerKillCommand(server: ToolRegistrar, context: ToolContext, helpers: CommandHelpers): void {
  const { airlock, guard } = context;
  const { within } = helpers;
  server.registerTool(
    'kill_command',
    {
      title: 'Stop a command',
      description:
        'Stop a running command (or one still waiting for approval) and every process it started. ' +
        'A finished command is left as it was; its result is returned.',
      inputSchema: { command_id: z.string().min(1).describe('the commandId run_command returned') },
      outputSchema: commandResultShape,
      annotations: {
        title: 'Stop a command',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    ({ command_id }) =>
      guard(async () => {
        return commandResult(await airlock.commands.kill(command_id, { within }));
      }),
  );
}

function registerReadOutput(server: ToolRegistrar, context: ToolContext, helpers: CommandHelpers): void {
  const { airlock, guard } = context;
  const { within } = helpers;
  server.registerTool(
    'read_output',
    {
      title: 'Read stored output',
      description:
        "Page through a command's full output (redacted) when the result was cut. Offsets and " +
        'limits count characters; the answer says where the next page starts.',
      inputSchema: {
        output_id: z.string().min(1).describe('the outputId of a result (out_…)'),
        stream: z.enum(['stdout', 'stderr']).optional().describe('default stdout'),
        offset: z.number().int().min(0).optional().describe('first character; default 0'),
        limit: z.number().int().min(1).max(MAX_PAGE_CHARS).optional().describe('characters to return'),
      },
      outputSchema: {
        outputId: z.string(),
        stream: z.enum(['stdout', 'stderr']),
        offset: z.number().int(),
        text: z.string(),
        totalChars: z.number().int(),
        nextOffset: z.number().int().optional().describe('where the next page starts; absent at the end'),
      },
      annotations: { title: 'Read stored output', readOnlyHint: true, openWorldHint: false },
    },
    ({ output_id, stream, offset, limit }) =>
      guard(async () => {
        const page = await airlock.commands.readOutput(output_id, {
          ...(stream === undefined ? {} : { stream }),
          ...(offset === undefined ? {} : { offset }),
          ...(limit === undefined ? {} : { limit }),
          within,
        });
        const end = page.offset + page.text.length;
        const where =
          page.nextOffset === null
            ? `[${page.stream} characters ${page.offset}–${end} of ${page.totalChars}; end of output]`
            : `[${page.stream} characters ${page.offset}–${end} of ${page.totalChars}; next page: ` +
              `read_output {"output_id": "${page.id}", "stream": "${page.stream}", "offset": ${page.nextOffset}}]`;
        return okResult([page.text, where], {
          outputId: page.id,
          stream: page.stream,
          offset: page.offset,
          text: page.text,
          totalChars: page.totalChars,
          nextOffset: page.nextOffset,
        });
      }),
  );
}
