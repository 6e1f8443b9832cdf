/** What the command pipeline's stages are given: the store, the sessions, the approvers and the bounds. */
import type { Logger } from 'pino';
import type { AirlockMetrics } from '../metrics/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';
import type { Approvals, Reviewer } from './approve/index.ts';
import type { CommandRegistry } from './command-registry.ts';
import type { RateLimiter } from './rate/index.ts';
import type { Redactor } from './shape/index.ts';
import type { EgressTracking } from './egress.ts';

/** What the stages need; the router's options are these, less what it makes itself. */
export interface PipelineDeps {
  readonly store: Store;
  readonly sessions: SessionManager;
  readonly approvals: Approvals;
  readonly registry: CommandRegistry;
  /** The policy engine judging a session's commands (`router.approvalRequiredFor` is its approval gate). */
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  readonly approvalTimeoutMs: number;
  /** `router.approvalWait`: how long a call waits for a person unless its caller says otherwise. */
  readonly approvalWaitMs: number;
  /** `router.reviewer`, asked before a person; null when none is configured. */
  readonly reviewer: Reviewer | null;
  readonly rateLimiter: RateLimiter;
  readonly maxChars: number;
  readonly redactorFor: (session: LiveSession) => Redactor;
  readonly metrics: AirlockMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Which hosts the egress proxy refused while a command ran (see egress.ts); absent: no egress. */
  readonly egress?: EgressTracking | undefined;
}
