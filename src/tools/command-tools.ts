/**
 * run_command and the tools that follow a command up: command_status, kill_command, read_output.
 */
import { z } from 'zod';
import { maxCommandTimeoutMs } from '../airlock/index.ts';
import type { Session } from '../airlock/index.ts';
import { SANDBOX_HOME } from '../sessions/index.ts';
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

/** "a person approved it (approval …)." for a command that ran once approved; who, if a reviewer did. */
async function approvedBy(context: ToolContext, result: RunResult): Promise<string | undefined> {
  const { approvalId, status } = result;
  if (approvalId === null || status === 'denied' || status === 'pending_approval') return undefined;
  const record = await context.airlock.approvals.get(approvalId).catch(() => null);
  const who = record?.decidedBy?.startsWith('reviewer:') ? record.decidedBy : 'a person';
  return `${who} approved it (approval ${approvalId}).`;
}

/** Defaults and maxima the tool schemas state, from this control plane's configuration. */
export function toolLimits(context: ToolContext) {
  const { config } = context.airlock;
  const { rateLimit, approvalWaitMs, approvalTimeoutMs, output } = config.router;
  const perMinute = (rateLimit.tokens * 60_000) / rateLimit.perMs;
  return {
    timeoutS: config.sandbox.timeoutMs / 1000,
    maxTimeoutS: maxCommandTimeoutMs(config) / 1000,
    // A surface that bounds the wait (an agent run: 0) states its bound, not the configured one.
    approvalWaitS: Math.min(approvalWaitMs, approvalTimeoutMs, context.approvalWaitMs ?? Infinity) / 1000,
    approvalMaxS: Math.min(approvalTimeoutMs, context.approvalWaitMs ?? Infinity) / 1000,
    maxOutputChars: output.maxChars,
    home: SANDBOX_HOME,
    rateText:
      `A session may run ${rateLimit.burst} commands in a burst, then ${Number(perMinute.toFixed(2))} a minute ` +
      '(past that: rate_limited, with retryAfterMs).',
  };
}

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
  return { within, ownedCommand, reportWait, waitAtMost };
}

/**
 * How long this call waits for a person, in ms: what the model asked (approval_wait_s), never more
 * than the surface allows (`context.approvalWaitMs`, 0 for an agent run); undefined leaves it to
 * `router.approvalWait`.
 */
export function approvalWaitFor(context: ToolContext, askedS: number | undefined): number | undefined {
  const asked = askedS === undefined ? undefined : Math.round(askedS * 1000);
  const cap = context.approvalWaitMs;
  if (cap === undefined) return asked;
  return asked === undefined ? cap : Math.min(asked, cap);
}

/** What run_command's description says of waiting, by how this surface bounds its waits. */
function waitingText(context: ToolContext, defaultWaitS: number): string {
  const approval =
    context.approvalWaitMs === 0
      ? 'ask a person to approve it (the call answers pending_approval at once with the approval id; ' +
        'the command still runs by itself once approved: follow it up with command_status)'
      : `ask a person to approve it (the call waits up to approval_wait_s, default ${defaultWaitS} s, for ` +
        'their decision, then answers pending_approval with the approval id; the command still runs by ' +
        'itself once approved: follow it up with command_status)';
  const running =
    context.commandWaitMs === undefined
      ? ''
      : ` A command still running after ${context.commandWaitMs / 1000} s goes on in the background ` +
        'and the call answers running: do other work meanwhile, or wait for it with command_status.';
  return `The policy may deny a command (the result says why and what is allowed) or ${approval}.${running}`;
}

function registerRunCommand(server: ToolRegistrar, context: ToolContext, helpers: CommandHelpers): void {
  const { guard } = context;
  const { reportWait, waitAtMost } = helpers;
  const limits = toolLimits(context);
  server.registerTool(
    'run_command',
    {
      title: 'Run a shell command',
      description:
        "Run a shell command (bash syntax) in this session's sandbox, in /workspace. The network is only " +
        "what session_info lists, through the session's egress proxy. Files persist between calls for the session's life; HOME is " +
        `${limits.home}, outside the project. ${waitingText(context, limits.approvalWaitS)} ` +
        `check_command tells you beforehand without running anything. ${limits.rateText} Long output ` +
        `is cut to ${limits.maxOutputChars} characters per stream: page the rest with read_output. ` +
        `Statuses: ${statusList}.`,
      inputSchema: {
        command: z.string().min(1).describe('the command line, e.g. "npm test" or "ls -la src"'),
        timeout_s: z
          .number()
          .positive()
          .max(limits.maxTimeoutS)
          .optional()
          .describe(
            `seconds before it is killed with every process it started; default ${limits.timeoutS}, at most ${limits.maxTimeoutS}`,
          ),
        background: z
          .boolean()
          .optional()
          .describe('return at once with a command id; follow it up with command_status'),
        approval_wait_s: z
          .number()
          .min(0)
          .max(limits.approvalMaxS)
          .optional()
          .describe(
            `when a person must approve: seconds to wait for the decision before answering pending_approval; default ${limits.approvalWaitS}, at most ${limits.approvalMaxS}`,
          ),
      },
      outputSchema: commandResultShape,
      annotations: {
        title: 'Run a shell command',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        // The sandbox reaches only the hosts on its session's list (or a person grants): a command
        // can interact with outside systems.
        openWorldHint: true,
      },
    },
    ({ command, timeout_s, background, approval_wait_s }, extra) =>
      guard(async () => {
        const session = await context.sessions.get();
        let stopReports = (): void => undefined;
        // With a bound on the wait, the command must be able to outlive the call: it runs detached
        // (as a background command, with live output) and the call waits for it at most that long.
        const detached = background === true || context.commandWaitMs !== undefined;
        const approvalWaitMs = approvalWaitFor(context, approval_wait_s);
        const runOptions: RunOptions = {
          // Rounded up: a positive timeout of under a millisecond is the shortest one, never none.
          ...(timeout_s === undefined ? {} : { timeoutMs: Math.max(1, Math.ceil(timeout_s * 1000)) }),
          ...(approvalWaitMs === undefined ? {} : { approvalWaitMs }),
          // A foreground command ends with the call that asked for it (a cancelled call kills it);
          // a background one outlives the call by design.
          ...(detached ? { background: true } : { signal: extra.signal }),
          // While a person decides, progress notifications say so (and keep clients from timing out).
          onApprovalRequested: (pending) => {
            stopReports = reportWait(pending.approvalId, extra);
          },
        };
        let first: RunResult;
        try {
          first = await session.run(command, runOptions);
        } finally {
          stopReports();
        }
        if (background === true || first.status !== 'running') {
          return commandResult(first, await approvedBy(context, first));
        }
        const final = await waitAtMost(session, first.id, context.commandWaitMs, extra.signal);
        const preface =
          final.status === 'running' && context.commandWaitMs !== undefined
            ? `still running after ${context.commandWaitMs / 1000} s; it goes on in the background.`
            : await approvedBy(context, final);
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
          .describe(
            `seconds to wait for it to finish before answering; default 0, at most ${MAX_STATUS_WAIT_S}`,
          ),
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
        limit: z
          .number()
          .int()
          .min(1)
          .max(MAX_PAGE_CHARS)
          .optional()
          .describe(
            `characters to return; default ${context.airlock.config.router.output.maxChars}, at most ${MAX_PAGE_CHARS}`,
          ),
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
