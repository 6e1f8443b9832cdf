/** `client.approvals`: what waits for a person, and the person's decision (admin token). */
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type { ApprovalContext } from './watch-types.ts';
import type { ApprovalRecord, ApprovalStatus, DecideApprovalRequest, GrantScope } from './wire-types.ts';

export interface ListApprovalsOptions extends CallOptions {
  readonly status?: ApprovalStatus;
  readonly sessionId?: string;
}

export interface ApproveOptions extends CallOptions {
  readonly reason?: string;
  /**
   * Approve for the rest of the session instead of once: one of the request's `grants` (`command`:
   * these exact commands, `program`: these programs, `host`: these hosts).
   */
  readonly scope?: GrantScope;
  /** `scope: 'command'` where the request offers it, else once. */
  readonly remember?: boolean;
}

export interface DenyOptions extends CallOptions {
  /** Shown to the model, so it can change course. */
  readonly reason?: string;
}

export class Approvals {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async list(options: ListApprovalsOptions = {}): Promise<ApprovalRecord[]> {
    const answer = await this.#transport.json<{ approvals: ApprovalRecord[] }>(
      {
        method: 'GET',
        path: ['v1', 'approvals'],
        query: { status: options.status, sessionId: options.sessionId },
      },
      options,
    );
    return answer.approvals;
  }

  get(approvalId: string, options?: CallOptions): Promise<ApprovalRecord> {
    return this.#transport.json<ApprovalRecord>(
      { method: 'GET', path: ['v1', 'approvals', approvalId] },
      options,
    );
  }

  /** The request with its command, the policy's reading of it and the session's recent commands. */
  context(approvalId: string, options?: CallOptions): Promise<ApprovalContext> {
    return this.#transport.json<ApprovalContext>(
      { method: 'GET', path: ['v1', 'approvals', approvalId, 'context'] },
      options,
    );
  }

  /** Raises APPROVAL_CLOSED when it was already decided or expired: the first decision stands. */
  approve(approvalId: string, options: ApproveOptions = {}): Promise<ApprovalRecord> {
    return this.#decide(
      approvalId,
      {
        decision: 'approve',
        ...(options.reason === undefined ? {} : { reason: options.reason }),
        ...(options.scope === undefined ? {} : { scope: options.scope }),
        ...(options.remember === undefined ? {} : { remember: options.remember }),
      },
      options,
    );
  }

  /** Raises APPROVAL_CLOSED when it was already decided or expired. */
  deny(approvalId: string, options: DenyOptions = {}): Promise<ApprovalRecord> {
    return this.#decide(
      approvalId,
      { decision: 'deny', ...(options.reason === undefined ? {} : { reason: options.reason }) },
      options,
    );
  }

  #decide(approvalId: string, body: DecideApprovalRequest, options: CallOptions): Promise<ApprovalRecord> {
    return this.#transport.json<ApprovalRecord>(
      { method: 'POST', path: ['v1', 'approvals', approvalId], json: body },
      options,
    );
  }
}
