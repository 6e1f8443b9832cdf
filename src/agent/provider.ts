/**
 * The seam between the loop and a model provider: one streaming call with the conversation and the
 * tools, one neutral answer back. Each provider adapter uses its provider's own SDK.
 */
import type { ConversationMessage, ToolCallRequest } from './conversation.ts';

/** A tool as the model is told of it: the shared definition's name, description and input schema. */
export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments object. */
  readonly inputSchema: Readonly<Record<string, unknown>>;
}

export interface ModelRequest {
  readonly model: string;
  readonly system: string;
  readonly messages: readonly ConversationMessage[];
  readonly tools: readonly ToolSpec[];
  readonly maxTokens: number;
  readonly signal: AbortSignal;
}

export interface ModelTurn {
  readonly text: string;
  readonly toolCalls: readonly ToolCallRequest[];
  /** The provider's own word for why it stopped (`tool_calls`, `end_turn`, `length`…). */
  readonly stopReason: string | null;
  /** As the provider reported it; null when it did not. */
  readonly usage: { readonly input: number; readonly output: number } | null;
}

/** What a streaming call yields: text as it arrives, then the whole turn once. */
export type ModelChunk =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'turn'; readonly turn: ModelTurn };

export interface ModelProvider {
  readonly name: 'openai' | 'anthropic';
  /** Where calls go, for the transcript (never with credentials). */
  readonly endpoint: string;
  /** One model call. Throws ModelCallError when the provider refuses or fails. */
  stream(request: ModelRequest): AsyncIterable<ModelChunk>;
}

/** A failed model call, as the loop needs to judge it: try again, or give up. */
export class ModelCallError extends Error {
  /** The HTTP status, or null when no answer came (connection refused, reset, timed out). */
  readonly status: number | null;
  readonly retryable: boolean;
  /** What the provider asked for in Retry-After, when it did. */
  readonly retryAfterMs: number | null;

  constructor(
    message: string,
    facts: { status: number | null; retryable: boolean; retryAfterMs: number | null },
  ) {
    super(message);
    this.name = 'ModelCallError';
    this.status = facts.status;
    this.retryable = facts.retryable;
    this.retryAfterMs = facts.retryAfterMs;
  }
}

/**
 * Whether a status is worth another try: a timeout, a conflict, a rate limit or a server error are
 * often gone a moment later; any other 4xx (a bad key, an unknown model, a malformed request) is not.
 */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Retry-After in seconds or as an HTTP date; null when absent or unreadable. */
export function retryAfterMs(headers: Headers | undefined, nowMs: number): number | null {
  const value = headers?.get('retry-after-ms') ?? null;
  if (value !== null && /^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value));
  const retryAfter = headers?.get('retry-after') ?? null;
  if (retryAfter === null) return null;
  if (/^\d+(\.\d+)?$/.test(retryAfter.trim())) return Math.round(Number(retryAfter) * 1000);
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

/** The error classes a provider's SDK throws, as `callError` tells them apart. */
export interface ProviderErrorClasses {
  readonly abort: abstract new (...args: never[]) => Error;
  readonly connection: abstract new (...args: never[]) => Error;
  readonly api: abstract new (...args: never[]) => Error & {
    readonly status: number | undefined;
    readonly headers: Headers | undefined;
  };
}

/**
 * A provider SDK's error as the loop judges it: an abort passes through; no answer (refused, reset)
 * and an answer that broke off or could not be read are worth another try; an HTTP status is judged
 * by `retryableStatus` (a 529 "overloaded" like a 503), with the provider's Retry-After.
 */
export function callError(error: unknown, classes: ProviderErrorClasses): unknown {
  if (error instanceof classes.abort) return error;
  if (error instanceof classes.connection) {
    return new ModelCallError(`could not reach the model server: ${error.message}`, {
      status: null,
      retryable: true,
      retryAfterMs: null,
    });
  }
  if (error instanceof classes.api && typeof error.status === 'number') {
    return new ModelCallError(error.message, {
      status: error.status,
      retryable: retryableStatus(error.status),
      retryAfterMs: retryAfterMs(error.headers, Date.now()),
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ModelCallError(`the model's answer could not be read: ${message}`, {
    status: null,
    retryable: true,
    retryAfterMs: null,
  });
}
