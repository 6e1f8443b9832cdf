/**
 * `router.reviewer`: asked about every approval request before a person is. It approves or denies
 * (for this once), or abstains and leaves the request to a person. Anything else it does — fail, be
 * late, answer garbage — is an abstention: a reviewer can only ever save a person a decision, never
 * turn an ask into an allow by breaking.
 */
import type { ReviewerConfig } from '../../config/index.ts';
import type { ApprovalRecord } from '../../store/index.ts';
import { askEndpoint, askProgram } from './reviewer-transports.ts';
import type { Reply } from './reviewer-transports.ts';

/** Longest reason kept from a reviewer (the audit log and the model read it). */
const MAX_REASON_CHARS = 2000;

/** What a reviewer is sent: version 1 of the request document. */
export interface ReviewRequest {
  readonly version: 1;
  readonly approvalId: string;
  readonly sessionId: string;
  readonly commandId: string | null;
  readonly action: ApprovalRecord['action'];
  /** The command (or write), redacted and with control characters escaped, as a person would see it. */
  readonly subject: string;
  readonly parsed: readonly string[];
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
  /** What the session may do, so a reviewer can judge against it. */
  readonly session: {
    readonly driver: string;
    readonly network: { readonly mode: string; readonly allow: readonly string[] };
    readonly secrets: { readonly envNames: readonly string[]; readonly files: readonly string[] };
  };
}

export interface ReviewOutcome {
  readonly decision: 'approve' | 'deny' | 'abstain';
  /** The reviewer's reason, when it gave one. */
  readonly reason: string | null;
  /** Why it abstained without saying so (failed, late, garbage); null when it answered. */
  readonly problem: string | null;
}

export interface Reviewer {
  /** `reviewer:<name>` in the audit log. */
  readonly name: string;
  /** Never rejects: every failure is an abstention with its problem. */
  review(request: ReviewRequest, signal: AbortSignal): Promise<ReviewOutcome>;
}

const abstain = (problem: string): ReviewOutcome => ({ decision: 'abstain', reason: null, problem });

/** The reviewer's answer: `{"decision": "approve"|"deny"|"abstain", "reason"?: "…"}`, else abstain. */
export function parseAnswer(reply: Reply): ReviewOutcome {
  if (!reply.ok) return abstain(reply.problem);
  let answer: unknown;
  try {
    answer = JSON.parse(reply.text);
  } catch {
    return abstain('answered something that is not JSON');
  }
  if (typeof answer !== 'object' || answer === null || Array.isArray(answer)) {
    return abstain('answered something other than a JSON object');
  }
  const { decision, reason } = answer as { decision?: unknown; reason?: unknown };
  if (decision !== 'approve' && decision !== 'deny' && decision !== 'abstain') {
    return abstain('answered no decision (approve, deny or abstain)');
  }
  if (reason !== undefined && reason !== null && typeof reason !== 'string') {
    return abstain('answered a reason that is not text');
  }
  const kept = typeof reason === 'string' && reason.trim() !== '' ? reason.slice(0, MAX_REASON_CHARS) : null;
  return { decision, reason: kept, problem: null };
}

export function createReviewer(config: ReviewerConfig | null): Reviewer | null {
  if (config === null) return null;
  const ask =
    config.kind === 'command'
      ? (body: string, signal: AbortSignal) => askProgram(config.argv, body, config.timeoutMs, signal)
      : (body: string, signal: AbortSignal) => askEndpoint(config.url, body, config.timeoutMs, signal);
  return {
    name: config.name,
    async review(request, signal) {
      try {
        return parseAnswer(await ask(JSON.stringify(request), signal));
      } catch {
        // A transport bug is still only an abstention: a person decides.
        return abstain('failed');
      }
    },
  };
}
