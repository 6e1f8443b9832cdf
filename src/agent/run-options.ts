/**
 * What a caller may ask of a run, checked at the library's entry (not only in the CLI) and completed
 * from the `agent:` section of the configuration.
 */
import type { AgentConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import type { SessionCreateOptions } from '../sessions/index.ts';
import { DEFAULT_RETRY_BASE_DELAY_MS } from './retry.ts';
import type { WorkspaceOptions } from './workspace.ts';

export interface AgentRunOptions {
  /** What the model is asked to do. */
  readonly task: string;
  /** `openai:NAME`, `anthropic:NAME` or a bare name for an OpenAI-compatible server. Default `agent.model`. */
  readonly model?: string;
  /** The provider's endpoint (a local llama.cpp, vLLM or Ollama server). Default `agent.baseUrl`, else the provider's variable. */
  readonly baseUrl?: string;
  /** Instead of the provider's environment variable (OPENAI_API_KEY, ANTHROPIC_API_KEY). */
  readonly apiKey?: string;
  readonly maxSteps?: number;
  readonly budgetTokens?: number;
  readonly contextTokens?: number;
  readonly maxTokens?: number;
  readonly systemPrompt?: string;
  /** How long run_command waits for a command before answering `running`. */
  readonly commandWaitMs?: number;
  /** Tries per model call. */
  readonly attempts?: number;
  /** The delay before the second try of a failed model call; later ones double it. Default 500 ms. */
  readonly retryBaseDelayMs?: number;
  /** Put the task and each call's messages in the audit log (redacted, bounded). */
  readonly recordPrompts?: boolean;
  /** Run in this existing session (which the run then leaves open) instead of a new one. */
  readonly sessionId?: string;
  /** For the new session. */
  readonly session?: SessionCreateOptions;
  /** A host directory copied into /workspace first, and (with writeBack) the work copied back after. */
  readonly workspace?: WorkspaceOptions;
  /** Ends the run: the model call or tool in flight is stopped, the run reports `aborted`. */
  readonly signal?: AbortSignal;
}

export interface ResolvedRunOptions {
  readonly task: string;
  readonly model: string;
  readonly baseUrl: string | undefined;
  readonly apiKey: string | undefined;
  readonly maxSteps: number;
  readonly budgetTokens: number;
  readonly contextTokens: number;
  readonly maxTokens: number;
  readonly systemPrompt: string | undefined;
  readonly commandWaitMs: number;
  readonly attempts: number;
  readonly retryBaseDelayMs: number;
  readonly recordPrompts: boolean;
}

/** Longest task accepted: more is a document, better written to a file in the workspace. */
export const MAX_TASK_CHARS = 100_000;

function whole(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const chosen = value ?? fallback;
  if (!Number.isSafeInteger(chosen) || chosen < min || chosen > max) {
    throw new AirlockError('INVALID_ARGUMENT', `${field} must be a whole number from ${min} to ${max}`, {
      field,
      value: chosen,
    });
  }
  return chosen;
}

export function resolveRunOptions(options: AgentRunOptions, config: AgentConfig): ResolvedRunOptions {
  if (typeof options.task !== 'string' || options.task.trim() === '') {
    throw new AirlockError('INVALID_ARGUMENT', 'task must be non-empty text: what the model should do', {
      field: 'task',
    });
  }
  if (options.task.length > MAX_TASK_CHARS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `task is ${options.task.length} characters; the limit is ${MAX_TASK_CHARS} (put long material in a workspace file and refer to it)`,
      { field: 'task', limit: MAX_TASK_CHARS },
    );
  }
  const model = options.model ?? config.model;
  if (model === undefined) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      'no model: pass --model (or model), e.g. openai:gpt-4.1-mini, or set agent.model in airlock.yaml',
      { field: 'model' },
    );
  }
  return {
    task: options.task,
    model,
    baseUrl: options.baseUrl ?? config.baseUrl,
    apiKey: options.apiKey,
    maxSteps: whole('maxSteps', options.maxSteps, config.maxSteps, 1, 10_000),
    budgetTokens: whole('budgetTokens', options.budgetTokens, config.budgetTokens, 1, 1_000_000_000),
    contextTokens: whole('contextTokens', options.contextTokens, config.contextTokens, 2000, 10_000_000),
    maxTokens: whole('maxTokens', options.maxTokens, config.maxTokens, 1, 1_000_000),
    systemPrompt: options.systemPrompt ?? config.systemPrompt,
    commandWaitMs: whole('commandWaitMs', options.commandWaitMs, config.commandWaitMs, 1, 3_600_000),
    attempts: whole('attempts', options.attempts, config.attempts, 1, 10),
    retryBaseDelayMs: whole(
      'retryBaseDelayMs',
      options.retryBaseDelayMs,
      DEFAULT_RETRY_BASE_DELAY_MS,
      0,
      60_000,
    ),
    recordPrompts: options.recordPrompts ?? config.recordPrompts,
  };
}
