/**
 * The inference loop: call the model with the conversation and the tools, run the tools it asks for
 * through Airlock's pipeline, give it the results, again, until it answers without a tool or a budget
 * runs out. Tool calls never wait on a person or on a long command (the shared tools answer
 * `pending_approval` or `running` and the model follows up), and the conversation is kept within
 * its token budget before every call.
 */
import type { ToolCall } from '../tools/index.ts';
import { conversationTokens, estimateTokens, protectContext } from './context-budget.ts';
import type { ConversationMessage, ToolCallRequest } from './conversation.ts';
import type { AgentEvent, AgentRunStatus, AgentSummary, AgentTokens } from './events.ts';
import { ModelCallError } from './provider.ts';
import type { ModelProvider, ModelTurn } from './provider.ts';
import { pause, retryDelayMs } from './retry.ts';
import type { RetryPolicy } from './retry.ts';
import type { ToolBox } from './tool-box.ts';
import { toolOutcome } from './tool-outcome.ts';

export interface LoopLimits {
  readonly maxSteps: number;
  readonly budgetTokens: number;
  readonly contextTokens: number;
  readonly maxTokens: number;
}

/** What the loop reports to the audit log; the run wires it to the store. */
export interface LoopRecorder {
  modelCall(facts: {
    readonly step: number;
    readonly attempt: number;
    readonly tokens: AgentTokens | null;
    readonly latencyMs: number;
    readonly stopReason: string | null;
    readonly error: { readonly status: number | null; readonly message: string } | null;
    readonly messages: readonly ConversationMessage[];
  }): Promise<void>;
  step(facts: {
    readonly step: number;
    readonly calls: ReadonlyArray<{
      readonly id: string;
      readonly name: string;
      readonly status: string | null;
      readonly commandId: string | null;
      readonly isError: boolean;
    }>;
  }): Promise<void>;
}

export interface LoopInput {
  readonly provider: ModelProvider;
  readonly model: string;
  readonly system: string;
  readonly task: string;
  readonly tools: ToolBox;
  readonly limits: LoopLimits;
  readonly retry: RetryPolicy;
  /** The host redactor: configured secrets and model keys out of every event. */
  readonly redact: (text: string) => string;
  readonly recorder: LoopRecorder;
  readonly signal: AbortSignal;
  readonly now: () => number;
}

/** The share of the context one tool result may take: a few of them and the rest still fit. */
const RESULT_SHARE = 0.25;

interface Counts {
  steps: number;
  commands: number;
  denied: number;
  tokens: { input: number; output: number };
  finalText: string;
  readonly approvals: Set<string>;
}

function summaryOf(
  status: AgentRunStatus,
  counts: Counts,
  startedMs: number,
  input: LoopInput,
  error: ModelCallError | null,
): AgentSummary {
  return {
    status,
    steps: counts.steps,
    commands: counts.commands,
    denied: counts.denied,
    asks: counts.approvals.size,
    tokens: { ...counts.tokens },
    durationMs: input.now() - startedMs,
    finalText: input.redact(counts.finalText),
    error: error === null ? null : { message: input.redact(error.message), status: error.status },
  };
}

/** The event stream of one run; its return value is the summary. */
export async function* agentLoop(input: LoopInput): AsyncGenerator<AgentEvent, AgentSummary> {
  const { limits, tools, signal } = input;
  const startedMs = input.now();
  const messages: ConversationMessage[] = [{ role: 'user', text: input.task }];
  const fixedChars = input.system.length + tools.definitionChars;
  const maxResultChars = Math.floor(limits.contextTokens * 4 * RESULT_SHARE);
  const counts: Counts = {
    steps: 0,
    commands: 0,
    denied: 0,
    tokens: { input: 0, output: 0 },
    finalText: '',
    approvals: new Set(),
  };
  const finish = (status: AgentRunStatus, error: ModelCallError | null = null): AgentSummary =>
    summaryOf(status, counts, startedMs, input, error);

  for (;;) {
    if (signal.aborted) return finish('aborted');
    if (counts.steps >= limits.maxSteps) return finish('max_steps');
    if (counts.tokens.input + counts.tokens.output >= limits.budgetTokens) return finish('budget_exhausted');
    const step = counts.steps + 1;
    const elision = protectContext(fixedChars, messages, limits.contextTokens);
    if (elision.elided > 0) {
      yield {
        type: 'context_elided',
        step,
        elided: elision.elided,
        estimatedTokensBefore: elision.before,
        estimatedTokensAfter: elision.after,
      };
    }
    const called = yield* callModel(input, step, messages, fixedChars);
    counts.steps = step;
    if ('aborted' in called) return finish('aborted');
    if ('failed' in called) return finish('failed', called.failed);
    const { turn, tokens } = called;
    counts.tokens.input += tokens.input;
    counts.tokens.output += tokens.output;
    if (turn.text !== '') counts.finalText = turn.text;
    messages.push({ role: 'assistant', text: turn.text, toolCalls: turn.toolCalls });
    if (turn.toolCalls.length === 0) return finish('completed');
    const call: ToolCall = { signal };
    const recorded = [];
    for (const request of turn.toolCalls) {
      if (signal.aborted) return finish('aborted');
      const facts = yield* runTool(input, step, request, call, counts, maxResultChars);
      messages.push({
        role: 'tool',
        callId: request.id,
        name: request.name,
        text: facts.text,
        isError: facts.isError,
        elided: false,
        recall: facts.recall,
      });
      recorded.push({
        id: request.id,
        name: request.name,
        status: facts.status,
        commandId: facts.commandId,
        isError: facts.isError,
      });
    }
    await input.recorder.step({ step, calls: recorded });
  }
}

type Called =
  | { readonly turn: ModelTurn; readonly tokens: AgentTokens }
  | { readonly failed: ModelCallError }
  | { readonly aborted: true };

/** One model call, tried again on a retryable failure, its text streamed as it arrives. */
async function* callModel(
  input: LoopInput,
  step: number,
  messages: readonly ConversationMessage[],
  fixedChars: number,
): AsyncGenerator<AgentEvent, Called> {
  const { provider, retry, signal, limits } = input;
  for (let attempt = 1; ; attempt += 1) {
    const startedMs = input.now();
    const request = {
      model: input.model,
      system: input.system,
      messages,
      tools: input.tools.specs,
      maxTokens: limits.maxTokens,
      signal,
    };
    try {
      let turn: ModelTurn | null = null;
      for await (const chunk of provider.stream(request)) {
        // Text is redacted piece by piece as it streams, and whole again in model_response.
        if (chunk.type === 'text') yield { type: 'model_text', step, text: input.redact(chunk.text) };
        else turn = chunk.turn;
      }
      if (turn === null) throw new ModelCallError('the model sent no answer', retryableFacts);
      const latencyMs = input.now() - startedMs;
      const tokens = turn.usage ?? {
        input: conversationTokens(fixedChars, messages),
        output: estimateTokens(turn.text.length + turn.toolCalls.reduce((n, c) => n + c.arguments.length, 0)),
      };
      await input.recorder.modelCall({
        step,
        attempt,
        tokens,
        latencyMs,
        stopReason: turn.stopReason,
        error: null,
        messages,
      });
      yield {
        type: 'model_response',
        step,
        text: input.redact(turn.text),
        toolCalls: turn.toolCalls.map((call) => ({ ...call, arguments: input.redact(call.arguments) })),
        stopReason: turn.stopReason,
        tokens,
        tokensReported: turn.usage !== null,
        latencyMs,
      };
      return { turn, tokens };
    } catch (error) {
      if (signal.aborted) return { aborted: true };
      if (!(error instanceof ModelCallError)) throw error;
      const message = input.redact(error.message);
      await input.recorder.modelCall({
        step,
        attempt,
        tokens: null,
        latencyMs: input.now() - startedMs,
        stopReason: null,
        error: { status: error.status, message },
        messages,
      });
      if (!error.retryable || attempt >= retry.maxAttempts) return { failed: error };
      const delayMs = retryDelayMs(attempt, retry, error.retryAfterMs);
      yield {
        type: 'model_retry',
        step,
        attempt,
        maxAttempts: retry.maxAttempts,
        delayMs,
        status: error.status,
        message,
      };
      await pause(delayMs, signal);
      if (signal.aborted) return { aborted: true };
    }
  }
}

/** What a person is asked about: the command or path the model sent, else its whole arguments. */
function subjectOf(args: string, facts: Readonly<Record<string, unknown>> | null): string {
  if (typeof facts?.['path'] === 'string') return facts['path'];
  try {
    const parsed: unknown = JSON.parse(args);
    const command = (parsed as Record<string, unknown> | null)?.['command'];
    if (typeof command === 'string') return command;
  } catch {
    // Not JSON: the arguments as they came.
  }
  return args;
}

const retryableFacts = { status: null, retryable: true, retryAfterMs: null };

/** One tool call through the shared tools, with its events; the facts the loop keeps of it. */
async function* runTool(
  input: LoopInput,
  step: number,
  request: ToolCallRequest,
  call: ToolCall,
  counts: Counts,
  maxResultChars: number,
): AsyncGenerator<
  AgentEvent,
  { text: string; isError: boolean; recall: string | null; status: string | null; commandId: string | null }
> {
  const view = { id: request.id, name: request.name, arguments: input.redact(request.arguments) };
  yield { type: 'tool_call', step, ...view };
  const startedMs = input.now();
  const result = await input.tools.invoke(request, call);
  const outcome = toolOutcome(request, result, maxResultChars);
  if (request.name === 'run_command') counts.commands += 1;
  if (outcome.denied) counts.denied += 1;
  yield {
    type: 'tool_result',
    step,
    id: request.id,
    name: request.name,
    text: outcome.text,
    isError: outcome.isError,
    facts: outcome.facts,
    durationMs: input.now() - startedMs,
  };
  if (outcome.approval !== null && !counts.approvals.has(outcome.approval.approvalId)) {
    counts.approvals.add(outcome.approval.approvalId);
    yield {
      type: 'approval_requested',
      step,
      approvalId: outcome.approval.approvalId,
      commandId: outcome.approval.commandId,
      subject: subjectOf(view.arguments, outcome.facts),
    };
  }
  const facts = outcome.facts;
  return {
    text: outcome.text,
    isError: outcome.isError,
    recall: outcome.recall,
    status: typeof facts?.['status'] === 'string' ? facts['status'] : null,
    commandId: typeof facts?.['commandId'] === 'string' ? facts['commandId'] : null,
  };
}
