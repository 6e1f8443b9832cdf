/**
 * An agent run in the audit log, in the session's own chain beside its commands: when it started
 * (model, limits), each model call (model, tokens in and out, latency, stop reason, the error of a
 * failed one), each step (the tools called and their outcome) and how it ended. The prompt text —
 * the task and the messages — is kept out unless `recordPrompts` is set; then it is recorded
 * redacted and bounded.
 */
import { createHash } from 'node:crypto';
import type { AuditEventInput, JsonObject, JsonValue } from '../store/index.ts';
import type { ConversationMessage } from './conversation.ts';
import type { AgentSummary } from './events.ts';
import type { LoopRecorder } from './loop.ts';

/** Most characters of messages one model-call event carries with recordPrompts; the newest are kept. */
export const MAX_RECORDED_PROMPT_CHARS = 64 * 1024;

export interface RunRecordContext {
  readonly runId: string;
  readonly sessionId: string;
  readonly provider: string;
  readonly model: string;
  readonly recordPrompts: boolean;
  readonly redact: (text: string) => string;
  readonly commit: (events: readonly AuditEventInput[]) => Promise<void>;
}

function event(context: RunRecordContext, type: AuditEventInput['type'], data: JsonObject): AuditEventInput {
  return { type, sessionId: context.sessionId, commandId: null, data: { runId: context.runId, ...data } };
}

function messageJson(message: ConversationMessage, redact: (text: string) => string): JsonObject {
  switch (message.role) {
    case 'user':
      return { role: 'user', text: redact(message.text) };
    case 'assistant':
      return {
        role: 'assistant',
        text: redact(message.text),
        toolCalls: message.toolCalls.map((call) => ({
          id: call.id,
          name: call.name,
          arguments: redact(call.arguments),
        })),
      };
    case 'tool':
      return { role: 'tool', callId: message.callId, name: message.name, text: redact(message.text) };
  }
}

/** The newest messages that fit the bound, oldest first, and how many were left out. */
function boundedMessages(
  messages: readonly ConversationMessage[],
  redact: (text: string) => string,
): JsonObject {
  const kept: JsonValue[] = [];
  let chars = 0;
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message === undefined) continue;
    const json = messageJson(message, redact);
    const size = JSON.stringify(json).length;
    if (chars + size > MAX_RECORDED_PROMPT_CHARS && kept.length > 0) break;
    kept.unshift(json);
    chars += size;
  }
  return { messages: kept, messagesLeftOut: messages.length - kept.length };
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export function runStartedEvent(
  context: RunRecordContext,
  facts: { task: string; endpoint: string; limits: JsonObject },
): AuditEventInput {
  const task: JsonObject = context.recordPrompts
    ? { task: context.redact(facts.task) }
    : { taskChars: facts.task.length, taskSha256: sha256(facts.task) };
  return event(context, 'agent.started', {
    provider: context.provider,
    model: context.model,
    endpoint: facts.endpoint,
    limits: facts.limits,
    recordPrompts: context.recordPrompts,
    ...task,
  });
}

export function runFinishedEvent(context: RunRecordContext, summary: AgentSummary): AuditEventInput {
  return event(context, 'agent.finished', {
    status: summary.status,
    steps: summary.steps,
    commands: summary.commands,
    denied: summary.denied,
    asks: summary.asks,
    tokensIn: summary.tokens.input,
    tokensOut: summary.tokens.output,
    durationMs: summary.durationMs,
    error: summary.error === null ? null : { message: summary.error.message, status: summary.error.status },
  });
}

/** A run that ended before it could sum itself up: its events so far are the record. */
export function runAbandonedEvent(context: RunRecordContext): AuditEventInput {
  return event(context, 'agent.finished', {
    status: 'aborted',
    reason: 'the run was stopped before it finished (its caller stopped reading it)',
  });
}

export function createLoopRecorder(context: RunRecordContext): LoopRecorder {
  return {
    modelCall: (facts) =>
      context.commit([
        event(context, 'agent.model_call', {
          step: facts.step,
          attempt: facts.attempt,
          provider: context.provider,
          model: context.model,
          tokensIn: facts.tokens?.input ?? null,
          tokensOut: facts.tokens?.output ?? null,
          latencyMs: facts.latencyMs,
          stopReason: facts.stopReason,
          error: facts.error === null ? null : { status: facts.error.status, message: facts.error.message },
          ...(context.recordPrompts ? boundedMessages(facts.messages, context.redact) : {}),
        }),
      ]),
    step: (facts) =>
      context.commit([
        event(context, 'agent.step', {
          step: facts.step,
          calls: facts.calls.map((call) => ({
            id: call.id,
            name: call.name,
            status: call.status,
            commandId: call.commandId,
            isError: call.isError,
          })),
        }),
      ]),
  };
}

/*
 * Security limitations:
 * - With recordPrompts the messages are stored as the host redactor shows them: configured secrets,
 *   model keys and common token formats are hidden, anything else a model or a command put in the
 *   conversation is in the audit log (and its witness) for good.
 */
