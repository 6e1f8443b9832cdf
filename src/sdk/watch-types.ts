/**
 * Wire types of the routes people watch agents with: sign-in, people's tokens, the command list, usage
 * history, an approval's context. Declared here (the SDK imports nothing from the server);
 * test/api/wire-contract.test.ts keeps them in step with the server's schemas.
 */
import type { ApprovalRecord, DecisionValue } from './wire-types.ts';

export type PersonRole = 'viewer' | 'approver';

/** `GET /v1/auth/session`, and the answer of signing in. */
export interface SignedIn {
  readonly role: 'admin' | 'session' | PersonRole;
  readonly tokenId: string;
  /** A person's token's name; null for the admin and session tokens. */
  readonly name: string | null;
  /** Send as the `x-airlock-csrf` header with every change made with the session cookie. */
  readonly csrfToken: string | null;
  readonly expiresAt: string | null;
}

export interface AccessTokenInfo {
  readonly id: string;
  readonly role: PersonRole;
  readonly name: string;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly revokedBy: string | null;
}

export interface CreatedAccessToken extends AccessTokenInfo {
  /** Shown once; only its digest is kept. */
  readonly token: string;
}

export type CommandState =
  | 'proposed'
  | 'pending_approval'
  | 'denied'
  | 'rate_limited'
  | 'running'
  | 'completed'
  | 'timed_out'
  | 'failed'
  | 'killed'
  | 'interrupted';

/** A command as the control plane recorded it (its text redacted). */
export interface CommandRecord {
  readonly id: string;
  readonly sessionId: string;
  readonly command: string;
  readonly state: CommandState;
  readonly background: boolean;
  readonly decision: DecisionValue | null;
  readonly reasons: readonly string[];
  readonly approvalId: string | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly outputId: string | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly durationMs: number | null;
}

export interface CommandPage {
  /** Newest first. */
  readonly commands: readonly CommandRecord[];
  /** Pass as `before` for the next (older) page; null at the end. */
  readonly next: string | null;
}

export interface UsageSample {
  readonly at: string;
  readonly memoryBytes: number;
  readonly pids: number;
  readonly cpuFraction: number | null;
}

export interface SessionUsage {
  readonly sessionId: string;
  /** Oldest first, about ten minutes. */
  readonly samples: readonly UsageSample[];
}

export interface EffectVerdict {
  /** What the effect does, in words: `deletes /workspace/build`. */
  readonly summary: string;
  readonly kind: string;
  readonly decision: DecisionValue;
  /** The rule that decided, `default`, or `hazard:<code>`. */
  readonly ruleId: string;
  readonly reason: string;
}

export interface ApprovalContext {
  readonly approval: ApprovalRecord;
  readonly command: CommandRecord | null;
  /** What the policy decided when the command was proposed, as the audit log recorded it. */
  readonly decision: {
    readonly policy: string;
    readonly ruleIds: readonly string[];
    readonly reasons: readonly string[];
  } | null;
  /** How the session's policy reads the command now; null for a file write or an ended session. */
  readonly analysis: {
    readonly commands: readonly {
      readonly command: string;
      readonly program: string | null;
      readonly decision: DecisionValue;
      readonly ruleIds: readonly string[];
      readonly reasons: readonly string[];
      readonly effects: readonly EffectVerdict[];
    }[];
    readonly hazards: readonly EffectVerdict[];
  } | null;
  /** The session's latest commands, newest first. */
  readonly recent: readonly CommandRecord[];
}
