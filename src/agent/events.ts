/**
 * What an agent run reports, in order: the library's async iterator yields these, `airlock agent run`
 * prints them as a transcript (or, with --json, one JSON line each). Every text in them has been
 * through the host redactor: configured secrets and model API keys never show.
 */

/** How a run ended. */
export const agentRunStatuses = [
  /** The model answered without asking for a tool: the task is done (or it says why not). */
  'completed',
  /** The model made `maxSteps` calls and still wanted tools. */
  'max_steps',
  /** The run spent `budgetTokens`. */
  'budget_exhausted',
  /** The model provider refused or kept failing; `error` says why. */
  'failed',
  /** The caller aborted it (Ctrl-C, a signal, a consumer that stopped iterating). */
  'aborted',
] as const;

export type AgentRunStatus = (typeof agentRunStatuses)[number];

export interface AgentTokens {
  readonly input: number;
  readonly output: number;
}

export interface AgentSummary {
  readonly status: AgentRunStatus;
  /** Model calls made. */
  readonly steps: number;
  /** run_command calls, and how many of them the policy denied or a person was asked about. */
  readonly commands: number;
  readonly denied: number;
  readonly asks: number;
  readonly tokens: AgentTokens;
  readonly durationMs: number;
  /** The model's last text: its answer when completed. */
  readonly finalText: string;
  readonly error: { readonly message: string; readonly status: number | null } | null;
}

export interface ToolCallView {
  readonly id: string;
  readonly name: string;
  /** The arguments as the model sent them (JSON text, redacted). */
  readonly arguments: string;
}

export type AgentEvent =
  | {
      readonly type: 'run_started';
      readonly runId: string;
      readonly sessionId: string;
      readonly provider: string;
      readonly model: string;
      /** Where model calls go (no credentials in it). */
      readonly endpoint: string;
      readonly maxSteps: number;
      readonly budgetTokens: number;
      readonly contextTokens: number;
    }
  | { readonly type: 'model_text'; readonly step: number; readonly text: string }
  | {
      readonly type: 'model_response';
      readonly step: number;
      readonly text: string;
      readonly toolCalls: readonly ToolCallView[];
      readonly stopReason: string | null;
      readonly tokens: AgentTokens;
      /** Whether the provider reported the tokens (else they are estimated from the characters). */
      readonly tokensReported: boolean;
      readonly latencyMs: number;
    }
  | {
      readonly type: 'model_retry';
      readonly step: number;
      /** The attempt that failed (1 = the first). */
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly delayMs: number;
      readonly status: number | null;
      readonly message: string;
    }
  | ({ readonly type: 'tool_call'; readonly step: number } & ToolCallView)
  | {
      readonly type: 'tool_result';
      readonly step: number;
      readonly id: string;
      readonly name: string;
      /** What the model reads: the shared tool's text, shaped to fit the context. */
      readonly text: string;
      readonly isError: boolean;
      /** The facts behind it (the tool's structured content), for programs. */
      readonly facts: Readonly<Record<string, unknown>> | null;
      readonly durationMs: number;
    }
  | {
      readonly type: 'approval_requested';
      readonly step: number;
      readonly approvalId: string;
      readonly commandId: string | null;
      readonly subject: string;
    }
  | {
      readonly type: 'context_elided';
      readonly step: number;
      /** Tool results replaced by a note saying how to get them again. */
      readonly elided: number;
      readonly estimatedTokensBefore: number;
      readonly estimatedTokensAfter: number;
    }
  | {
      readonly type: 'workspace_copied';
      readonly dir: string;
      readonly files: number;
      readonly bytes: number;
      readonly leftOut: ReadonlyArray<{ readonly path: string; readonly why: string }>;
    }
  | {
      readonly type: 'workspace_changes';
      readonly dir: string;
      /** Whether changes were to be written back (else they are only listed). */
      readonly writeBack: boolean;
      readonly added: readonly string[];
      readonly changed: readonly string[];
      /** Reported only: nothing is deleted on the host. */
      readonly deleted: readonly string[];
      /** Written back to `dir` (none without write-back). */
      readonly written: readonly string[];
      readonly leftOut: ReadonlyArray<{ readonly path: string; readonly why: string }>;
    }
  | ({ readonly type: 'run_finished'; readonly runId: string; readonly sessionId: string } & AgentSummary);

export type AgentEventType = AgentEvent['type'];
