/**
 * How Airlock's outcomes look to a tool's caller (an MCP client, an agent's model): text the model reads (the router's `forModel`) plus
 * structured facts for programs, complete on their own (with the output) for clients that show a
 * model only the structured content. A denial, a pending approval, a timeout or a rate limit is a normal
 * result with a status; `isError` marks only calls that could not be carried out (an ended session,
 * a path outside the sandbox, an unknown id), still as a result the model can read, never as a
 * protocol error.
 */
import { z } from 'zod';
import type { AirlockError } from '../errors/index.ts';
import type { RunResult, RunStatus } from '../router/index.ts';
import type { ToolResult } from './registrar.ts';

/** What each status means, for the tool description; keyed by status so a new one cannot be missed. */
export const statusMeanings: Readonly<Record<RunStatus, string>> = {
  completed: 'it ran; exitCode is its exit status (null when a signal killed it)',
  denied: 'the policy or a person refused it; reasons say why and what would be allowed',
  pending_approval: 'a person must approve it first',
  timed_out: 'it ran too long and was killed with every process it started',
  rate_limited: 'too many commands; retry after retryAfterMs',
  failed: 'the sandbox could not run it; error says why',
  running: 'it runs in the background',
  killed: 'it was stopped on request',
};

const runStatusSchema = z.enum(Object.keys(statusMeanings) as [RunStatus, ...RunStatus[]]);

/**
 * Facts that may not apply are optional, never nullable: a `type: [T, "null"]` field trips clients
 * that convert JSON Schema for their model's tool format, so an absent fact is an absent key.
 */
export const commandResultShape = {
  commandId: z.string(),
  sessionId: z.string(),
  status: runStatusSchema,
  exitCode: z.number().int().optional().describe('absent when it did not exit on its own'),
  signal: z.string().optional().describe('the signal that ended it, when one did'),
  oomKilled: z.boolean(),
  stdout: z.string().describe('shaped for the model: redacted, cut to the output limit'),
  stderr: z.string(),
  truncated: z.boolean().describe('the output shown was cut; page all of it with read_output'),
  outputId: z.string().optional().describe('where the full output pages from; absent when none'),
  approvalId: z.string().optional(),
  decision: z.enum(['allow', 'ask', 'deny']),
  reasons: z.array(z.string()),
  ruleIds: z.array(z.string()),
  retryAfterMs: z.number().optional(),
  durationMs: z.number(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
};

/** `value` without its null members (in nested objects too): absent instead of null. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item: unknown) => withoutNulls(item)) as T;
  if (typeof value !== 'object' || value === null) return value;
  const kept = Object.entries(value).filter(([, member]) => member !== null);
  return Object.fromEntries(kept.map(([key, member]) => [key, withoutNulls(member)])) as T;
}

function commandFacts(result: RunResult): Record<string, unknown> {
  return withoutNulls({
    commandId: result.id,
    sessionId: result.sessionId,
    status: result.status,
    exitCode: result.exitCode,
    signal: result.signal,
    oomKilled: result.oomKilled,
    stdout: result.stdout,
    stderr: result.stderr,
    truncated: result.truncated,
    outputId: result.outputId,
    approvalId: result.approvalId,
    decision: result.decision,
    reasons: [...result.reasons],
    ruleIds: [...result.ruleIds],
    retryAfterMs: result.retryAfterMs,
    durationMs: result.durationMs,
    error: result.error,
  });
}

/** What to call next, in this surface's tool names (the router's text names no tools). */
function nextStep(result: RunResult): string | null {
  switch (result.status) {
    case 'running':
      return `Check it with command_status {"command_id": "${result.id}"} (wait_s waits for it to finish); stop it with kill_command.`;
    case 'pending_approval':
      return `Check whether it ran with command_status {"command_id": "${result.id}"}.`;
    default:
      return null;
  }
}

export function commandResult(result: RunResult, preface?: string): ToolResult {
  const next = nextStep(result);
  const text = [preface, result.forModel, next].filter((part) => part !== undefined && part !== null);
  return {
    content: [{ type: 'text', text: text.join('\n') }],
    structuredContent: commandFacts(result),
  };
}

/** Text for the model plus the facts behind it. */
export function okResult(
  text: string | readonly string[],
  structuredContent: Record<string, unknown>,
): ToolResult {
  const parts = typeof text === 'string' ? [text] : text;
  return {
    content: parts.map((part) => ({ type: 'text' as const, text: part })),
    structuredContent: withoutNulls(structuredContent),
  };
}

/**
 * A call that could not be carried out. No structuredContent (it would not match the tool's output
 * schema); the code is in the text for the model and in `_meta` for programs.
 */
export function errorResult(error: Pick<AirlockError, 'code' | 'message'>, hint?: string): ToolResult {
  const text = `error ${error.code}: ${error.message}${hint === undefined ? '' : `\n${hint}`}`;
  return {
    isError: true,
    content: [{ type: 'text', text }],
    _meta: { 'airlock/error': { code: error.code, message: error.message } },
  };
}
