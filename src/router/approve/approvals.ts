/**
 * Approval requests: a person decides what the policy left to a person. Requests live in the store, so
 * a decider in another process (the CLI next to a server, a second API client) sees and answers the
 * same request; a waiting router learns of a decision at once when it was made in-process and within
 * one poll interval when it was made elsewhere.
 */
import { randomBytes } from 'node:crypto';
import { AirlockError } from '../../errors/index.ts';
import { escapeForDisplay } from '../../shell/index.ts';
import { grantScopes } from '../../store/index.ts';
import type {
  ApprovalGrant,
  ApprovalRecord,
  AuditEventInput,
  GrantScope,
  JsonObject,
  Store,
} from '../../store/index.ts';

export type ApprovalDecision = 'approve' | 'deny';

/** What a reviewer made of a request, recorded with it (see reviewer.ts). */
export interface ReviewNote {
  readonly reviewer: string;
  readonly decision: 'approve' | 'deny' | 'abstain';
  readonly reason: string | null;
  /** Why it abstained without saying so: it failed, was late or answered garbage. */
  readonly problem: string | null;
}

export interface ApprovalRequestInput {
  /** The request's id, when the caller made it earlier (`newApprovalId`) to show before it is stored. */
  readonly id?: string;
  readonly sessionId: string;
  readonly commandId: string | null;
  readonly action: ApprovalRecord['action'];
  /** Raw command text or path; escaped here before anyone sees it. */
  readonly subject: string;
  readonly parsed: readonly string[];
  readonly reasons: readonly string[];
  /** What "remember" may cover (redacted; escaped here); none when nothing can be remembered. */
  readonly grants?: readonly ApprovalGrant[];
  readonly timeoutMs: number;
  /** The reviewer's answer, when one was asked first: recorded with the request. */
  readonly review?: ReviewNote | undefined;
}

export interface DecideOptions {
  readonly reason?: string | undefined;
  /**
   * Approve for the rest of the session, one of the request's `grants`: this exact command (or
   * write), this program, or these hosts. Absent: this once.
   */
  readonly scope?: GrantScope | undefined;
  /**
   * The same as `scope: 'command'` (for a connection: `scope: 'host'`) when the request offers it,
   * else approve once (kept for callers written before scopes).
   */
  readonly remember?: boolean | undefined;
  /** Who decided, for the audit log: `cli`, `api:<token id>`, a user name. */
  readonly decidedBy?: string | undefined;
}

export interface Approvals {
  request(input: ApprovalRequestInput): Promise<ApprovalRecord>;
  /**
   * Resolves with the decided record; an approval still undecided at its deadline is expired (which
   * means denied). Aborting the signal stops waiting without deciding.
   */
  waitFor(id: string, options?: { readonly signal?: AbortSignal }): Promise<ApprovalRecord>;
  decide(id: string, decision: ApprovalDecision, options?: DecideOptions): Promise<ApprovalRecord>;
  get(id: string): Promise<ApprovalRecord>;
  list(query?: {
    readonly status?: ApprovalRecord['status'];
    readonly sessionId?: string;
  }): Promise<ApprovalRecord[]>;
  /** Expires every pending request past its deadline (also those of other processes); returns them. */
  expireOverdue(): Promise<ApprovalRecord[]>;
  /**
   * Waits for the decision like `waitFor`. If `signal` aborts first (the caller gave up, the session
   * ended), the request is withdrawn, so a person cannot approve something that will never run, and
   * the result is null. A request already decided by then keeps its decision.
   */
  waitOrWithdraw(id: string, signal: AbortSignal, why: string): Promise<ApprovalRecord | null>;
  close(): void;
}

export interface ApprovalsOptions {
  readonly store: Store;
  readonly now?: () => number;
  /**
   * How often a waiter re-reads the store for decisions made by other processes. Default 250 ms, or
   * NOTIFIED_POLL_INTERVAL_MS with `decisions`.
   */
  readonly pollIntervalMs?: number;
  /**
   * Decisions made elsewhere, as they happen (a cluster's LISTEN/NOTIFY): subscribes a wake-up for
   * the approval ids announced, so a waiter re-reads at once instead of at its next poll. Returns the
   * unsubscribe, called at close. `null` wakes every waiter (announcements may have been missed).
   */
  readonly decisions?: (wake: (approvalId: string | null) => void) => () => void;
}

/** Longest reason a decider may attach; it lands in the audit log and is shown to the model. */
const MAX_REASON_CHARS = 2000;

export function newApprovalId(): string {
  return `apr_${randomBytes(12).toString('hex')}`;
}

function decidedEvent(record: ApprovalRecord): AuditEventInput {
  const data: JsonObject = {
    approvalId: record.id,
    status: record.status,
    decidedBy: record.decidedBy,
    reason: record.decisionReason,
    remember: record.remember,
    scope: record.scope,
  };
  return { type: 'approval.decided', sessionId: record.sessionId, commandId: record.commandId, data };
}

/**
 * With announced decisions a waiter re-reads only as a safety net: the announcement wakes it at once,
 * and a listener that lost its connection wakes every waiter when it is back. Polling every waiter of
 * every node four times a second would load the shared database with reads that find nothing.
 */
export const NOTIFIED_POLL_INTERVAL_MS = 10_000;

export function createApprovals(options: ApprovalsOptions): Approvals {
  return new StoreApprovals(options);
}

class StoreApprovals implements Approvals {
  readonly #store: Store;
  readonly #now: () => number;
  readonly #pollIntervalMs: number;
  /** In-process wake-ups: a decision made through this instance resolves its waiters without polling. */
  readonly #wakers = new Map<string, Set<() => void>>();
  readonly #unsubscribe: (() => void) | undefined;
  #closed = false;

  constructor(options: ApprovalsOptions) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#pollIntervalMs =
      options.pollIntervalMs ?? (options.decisions === undefined ? 250 : NOTIFIED_POLL_INTERVAL_MS);
    this.#unsubscribe = options.decisions?.((id) => {
      if (id !== null) this.#wake(id);
      else for (const waiting of [...this.#wakers.keys()]) this.#wake(waiting);
    });
  }

  async request(input: ApprovalRequestInput): Promise<ApprovalRecord> {
    const createdAt = this.#now();
    const record: ApprovalRecord = {
      id: input.id ?? newApprovalId(),
      sessionId: input.sessionId,
      commandId: input.commandId,
      action: input.action,
      // Escaped once, here: every surface (CLI, API, dashboard) shows a person exactly these characters.
      subject: escapeForDisplay(input.subject),
      parsed: input.parsed.map(escapeForDisplay),
      reasons: [...input.reasons],
      grants: (input.grants ?? []).map((grant) => ({
        scope: grant.scope,
        covers: grant.covers.map(escapeForDisplay),
      })),
      scope: null,
      status: 'pending',
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(createdAt + input.timeoutMs).toISOString(),
      decidedAt: null,
      decidedBy: null,
      decisionReason: null,
      remember: false,
    };
    await this.#store.commit({
      approvals: [record],
      events: [
        {
          type: 'approval.requested',
          sessionId: record.sessionId,
          commandId: record.commandId,
          data: {
            approvalId: record.id,
            action: record.action,
            subject: record.subject,
            parsed: [...record.parsed],
            reasons: [...record.reasons],
            grants: record.grants.map((grant) => ({ scope: grant.scope, covers: [...grant.covers] })),
            expiresAt: record.expiresAt,
            ...(input.review === undefined
              ? {}
              : {
                  review: {
                    reviewer: input.review.reviewer,
                    decision: input.review.decision,
                    reason: input.review.reason === null ? null : escapeForDisplay(input.review.reason),
                    problem: input.review.problem,
                  },
                }),
          },
        },
      ],
    });
    return record;
  }

  async waitFor(id: string, waitOptions: { signal?: AbortSignal } = {}): Promise<ApprovalRecord> {
    let record = await this.get(id);
    const { signal } = waitOptions;
    while (record.status === 'pending') {
      if (this.#closed) throw new AirlockError('SANDBOX_DESTROYED', 'the control plane is shutting down');
      signal?.throwIfAborted();
      const remainingMs = Date.parse(record.expiresAt) - this.#now();
      if (remainingMs <= 0) return this.#expire(record);
      await this.#nap(id, Math.min(this.#pollIntervalMs, remainingMs), signal);
      record = await this.get(id);
    }
    return record;
  }

  async decide(
    id: string,
    decision: ApprovalDecision,
    decideOptions: DecideOptions = {},
  ): Promise<ApprovalRecord> {
    const reason = checkDecision(decision, decideOptions);
    const current = await this.get(id);
    if (current.status !== 'pending') throw closedError(current);
    const scope = chosenScope(current, decision, decideOptions);
    if (Date.parse(current.expiresAt) <= this.#now()) {
      // Too late: the deadline already turned "undecided" into "denied"; approving now would run a
      // command its caller was told was refused.
      throw closedError(await this.#expire(current));
    }
    const wanted = decision === 'approve' ? 'approved' : 'denied';
    const updated = await this.#store.decideApproval(
      id,
      {
        status: wanted,
        decidedBy: decideOptions.decidedBy ?? 'unknown',
        reason: reason === null ? null : escapeForDisplay(reason),
        remember: scope !== null,
        scope,
      },
      decidedEvent,
    );
    if (updated === null) return this.get(id);
    // Someone else decided between our read and our write: theirs stands.
    if (updated.status !== wanted) throw closedError(updated);
    this.#wake(id);
    return updated;
  }

  async get(id: string): Promise<ApprovalRecord> {
    const record = await this.#store.getApproval(id);
    if (record === null) {
      throw new AirlockError('NOT_FOUND', `no approval request ${JSON.stringify(id)}`, { approvalId: id });
    }
    return record;
  }

  list(query: { readonly status?: ApprovalRecord['status']; readonly sessionId?: string } = {}) {
    return this.#store.listApprovals(query);
  }

  async expireOverdue(): Promise<ApprovalRecord[]> {
    const pending = await this.#store.listApprovals({ status: 'pending' });
    const overdue = pending.filter((record) => Date.parse(record.expiresAt) <= this.#now());
    const expired: ApprovalRecord[] = [];
    for (const record of overdue) expired.push(await this.#expire(record));
    return expired;
  }

  async waitOrWithdraw(id: string, signal: AbortSignal, why: string): Promise<ApprovalRecord | null> {
    try {
      return await this.waitFor(id, { signal });
    } catch (error) {
      if (!signal.aborted) throw error;
      const record = await this.get(id);
      if (record.status === 'pending') await this.#expire(record, `withdrawn: ${why}`);
      return null;
    }
  }

  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    for (const id of [...this.#wakers.keys()]) this.#wake(id);
  }

  async #expire(record: ApprovalRecord, reason = 'no decision before the deadline'): Promise<ApprovalRecord> {
    const updated = await this.#store.decideApproval(
      record.id,
      { status: 'expired', decidedBy: 'airlock', reason, remember: false, scope: null },
      decidedEvent,
    );
    this.#wake(record.id);
    return updated ?? record;
  }

  /** Waits `ms`, or until a decision made in this process, the signal or close() wakes it. */
  #nap(id: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        this.#wakers.get(id)?.delete(finish);
        if (this.#wakers.get(id)?.size === 0) this.#wakers.delete(id);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      signal?.addEventListener('abort', finish, { once: true });
      let set = this.#wakers.get(id);
      if (set === undefined) this.#wakers.set(id, (set = new Set()));
      set.add(finish);
    });
  }

  #wake(id: string): void {
    for (const waker of this.#wakers.get(id) ?? []) waker();
  }
}

/** The decision's reason, checked; throws INVALID_ARGUMENT for a bad decision or reason. */
function checkDecision(decision: ApprovalDecision, options: DecideOptions): string | null {
  if (decision !== 'approve' && decision !== 'deny') {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `decision must be "approve" or "deny", got ${String(decision)}`,
      {
        field: 'decision',
      },
    );
  }
  const reason = options.reason ?? null;
  if (reason !== null && (typeof reason !== 'string' || reason.length > MAX_REASON_CHARS)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `reason must be text of at most ${MAX_REASON_CHARS} characters`,
      {
        field: 'reason',
      },
    );
  }
  return reason;
}

/**
 * The grant a decision chooses: `scope` (or `remember`, meaning `command`, or `host` for a connection) must be one the request
 * offered, and only an approval remembers anything. INVALID_ARGUMENT otherwise, naming what is offered.
 */
function chosenScope(
  record: ApprovalRecord,
  decision: ApprovalDecision,
  options: DecideOptions,
): GrantScope | null {
  const { scope, remember } = options;
  if (scope !== undefined && !grantScopes.includes(scope)) {
    throw new AirlockError('INVALID_ARGUMENT', `scope must be one of ${grantScopes.join(', ')}`, {
      field: 'scope',
    });
  }
  // `remember` predates scopes: this exact command, or for a connection its host and port; where
  // neither can be remembered it still approves once.
  if (scope === undefined) {
    if (remember !== true || decision !== 'approve') return null;
    const narrowest = record.action === 'egress' ? 'host' : 'command';
    return record.grants.some((grant) => grant.scope === narrowest) ? narrowest : null;
  }
  const wanted = scope;
  if (decision !== 'approve') {
    throw new AirlockError('INVALID_ARGUMENT', 'only an approval can be remembered; deny without a scope', {
      field: 'scope',
    });
  }
  if (!record.grants.some((grant) => grant.scope === wanted)) {
    const offered = record.grants.map((grant) => grant.scope);
    throw new AirlockError(
      'INVALID_ARGUMENT',
      offered.length === 0
        ? `approval ${record.id} cannot be remembered (it has parts only known at run time, or nothing a grant could cover); approve it once`
        : `approval ${record.id} can be remembered as ${offered.join(' or ')}, not ${wanted}`,
      { field: 'scope', offered },
    );
  }
  return wanted;
}

function closedError(record: ApprovalRecord): AirlockError {
  return new AirlockError(
    'APPROVAL_CLOSED',
    `approval ${record.id} is already ${record.status}${record.decidedBy ? ` (by ${record.decidedBy})` : ''}`,
    { approvalId: record.id, status: record.status },
  );
}
