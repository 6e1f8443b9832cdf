import type { DecisionValue } from '../policy/index.ts';
import type { OutputSink } from '../sandbox/index.ts';
import type { ApprovalGrant } from '../store/index.ts';
import type { RefusedConnection } from './egress.ts';

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
   * When a person must approve: how long this call waits for the decision before it returns
   * `pending_approval` (the command still runs by itself once approved). Default `router.approvalWait`
   * (15 s): no call is held open longer unless the caller asks. At most the approval timeout (a longer
   * wait is cut to it: the request is decided or expired by then).
   */
  readonly approvalWaitMs?: number;
  /**
   * `false`: return `pending_approval` at once (`approvalWaitMs: 0`). `true`: wait for the decision
   * however long it takes, up to the approval timeout. Absent: `approvalWaitMs` decides.
   */
  readonly waitForApproval?: boolean;
  /**
   * Told once the approval request exists (the result is `pending_approval`, with its approval id),
   * while the call still waits: for progress reports to a client.
   */
  readonly onApprovalRequested?: (pending: RunResult) => void;
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
  /**
   * Hosts the egress proxy refused while the command ran (redacted, at most 20), each with the line
   * its client was told; empty when none (or when the command did not run).
   */
  readonly refusedHosts: readonly RefusedConnection[];
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

/** A dry run's answer: what running the command would do in this session now. Nothing ran. */
export interface CheckResult {
  readonly sessionId: string;
  /** Redacted command text. */
  readonly command: string;
  /** `allow`: it would run unasked; `ask`: a person would be asked first; `deny`: it would be refused. */
  readonly decision: DecisionValue;
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  /** The `router.approvalRequiredFor` entries it matches. */
  readonly approvalRequiredFor: readonly string[];
  /** For an ask: what a person could approve for the rest of the session instead of once. */
  readonly grants: readonly ApprovalGrant[];
  /** Short text for the model. */
  readonly forModel: string;
}
