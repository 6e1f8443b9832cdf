import type { DecisionValue } from '../policy/index.ts';
import type { OutputSink } from '../sandbox/index.ts';

/**
 * What happened to a command. `running` is a background command still going; `killed` was stopped on
 * request; the rest are the pipeline's outcomes. A non-zero exit is `completed`: the command ran.
 */
export const runStatuses = [
  'completed',
  'denied',
  'pending_approval',
  'timed_out',
  'rate_limited',
  'failed',
  'running',
  'killed',
] as const;

export type RunStatus = (typeof runStatuses)[number];

export interface RunOptions {
  /** This command's timeout; default the session's, at most the configured maximum. */
  readonly timeoutMs?: number;
  /** Return as soon as the command starts; poll it with `commands.get`, stop it with `commands.kill`. */
  readonly background?: boolean;
  /**
   * When a person must approve: wait for the decision (the default, up to the approval timeout) or
   * return `pending_approval` at once and let the command go on when it is decided.
   */
  readonly waitForApproval?: boolean;
  /** Aborting kills the command (or stops waiting for its approval). */
  readonly signal?: AbortSignal;
  /**
   * No person can answer an approval here (a one-shot run from a terminal, `airlock exec`): a command
   * the policy leaves to a person is refused at once (`denied`, decision `ask`), and recorded so,
   * instead of waiting for a decision that cannot come.
   */
  readonly noApprover?: boolean;
  /**
   * The command's own bytes as it writes them, unredacted, with backpressure: for a person at a
   * terminal on the host (`airlock exec`), never for a model. The result is shaped, redacted and
   * recorded as always. Foreground commands only.
   */
  readonly rawOutputTo?: { readonly stdout: OutputSink; readonly stderr: OutputSink };
}

/**
 * The sessions a caller may see commands and outputs of: one session id, or a test. A command or
 * output of any other session is answered exactly as one that does not exist (NOT_FOUND), so an id
 * cannot be used to learn whether another session's command exists.
 */
export type SessionScope = string | ((sessionId: string) => boolean);

export interface RunResult {
  /** The command id (`cmd_…`). */
  readonly id: string;
  readonly sessionId: string;
  /** Redacted command text. */
  readonly command: string;
  readonly status: RunStatus;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly oomKilled: boolean;
  /** Shaped for the model: redacted, at most `output.maxChars` with a marker where cut. */
  readonly stdout: string;
  readonly stderr: string;
  readonly truncated: boolean;
  /** Where the full (redacted, bounded) output can be paged; null when nothing was stored. */
  readonly outputId: string | null;
  readonly durationMs: number;
  readonly decision: DecisionValue;
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  readonly approvalId: string | null;
  /** For `rate_limited`: when one more command would be accepted. */
  readonly retryAfterMs: number | null;
  /** For `failed`: why the command could not run. */
  readonly error: { readonly code: string; readonly message: string } | null;
  /** Short, actionable text for the model: what happened and what to do next. */
  readonly forModel: string;
}

export interface FileWriteResult {
  readonly status: 'completed' | 'denied' | 'pending_approval';
  readonly path: string;
  readonly bytes: number;
  readonly approvalId: string | null;
  readonly reasons: readonly string[];
  readonly forModel: string;
}

/** What the pipeline would decide for a command (`router.checkCommand`): nothing runs, nothing is recorded. */
export interface CommandCheck {
  readonly sessionId: string;
  /** Redacted command text. */
  readonly command: string;
  readonly decision: DecisionValue;
  /** Redacted, written for the model: why, and what would be allowed instead. */
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  /** Short text for the model: the decision, what it means, and that nothing ran. */
  readonly forModel: string;
}
