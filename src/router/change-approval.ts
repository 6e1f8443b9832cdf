/**
 * The decide and approve stages for a change of several paths at once (writing many files, unpacking
 * an archive, removing or renaming): each path is judged by the same path rules as a single file
 * write (`judgeWrite`, which folds in `router.approvalRequiredFor: write_file`). One denied path
 * refuses the whole change before anything happens; otherwise one approval covers every path that
 * asks, the reviewer consulted first as for any request.
 */
import type { PolicyEngine } from '../policy/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import { awaitDecision, newApprovalId, refusalReason, requestApproval } from './approve/index.ts';
import type { Approvals, Reviewer } from './approve/index.ts';
import type { Redactor } from './shape/index.ts';
import { judgeWrite } from './write-judgement.ts';

export interface ChangeApprovalDeps {
  readonly approvals: Approvals;
  readonly reviewer: Reviewer | null;
  readonly approvalTimeoutMs: number;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  readonly redactorFor: (session: LiveSession) => Redactor;
}

export type ChangeVerdict =
  | { readonly status: 'allowed' }
  | { readonly status: 'approved'; readonly approvalId: string }
  | { readonly status: 'denied'; readonly approvalId: string | null; readonly reasons: readonly string[] };

export interface ChangeRequest {
  /** What a person is shown, e.g. `remove /workspace/build` (redacted here). */
  readonly subject: string;
  /** Absolute sandbox paths (resolveSandboxPath), each judged as a write. */
  readonly targets: readonly string[];
  readonly signal?: AbortSignal | undefined;
}

/** Reasons shown for one request: a change of 50,000 paths must not make a request of 50,000 lines. */
const MAX_REASONS = 20;

export async function approveChange(
  deps: ChangeApprovalDeps,
  session: LiveSession,
  change: ChangeRequest,
): Promise<ChangeVerdict> {
  const redactor = deps.redactorFor(session);
  const shown = (text: string): string => redactor.redact(text).text;
  const engine = deps.policyFor(session);
  const asking = new Set<string>();
  const ruleIds = new Set<string>();
  const denied: string[] = [];
  for (const target of change.targets) {
    const judged = judgeWrite(engine, session, target);
    if (judged.value === 'allow') continue;
    const reasons = judged.reasons.map((reason) => `${shown(target)}: ${shown(reason)}`);
    if (judged.value === 'deny') denied.push(...reasons);
    else for (const reason of reasons) if (asking.size < MAX_REASONS) asking.add(reason);
    for (const id of judged.ruleIds) ruleIds.add(id);
  }
  if (denied.length > 0) return { status: 'denied', approvalId: null, reasons: denied.slice(0, MAX_REASONS) };
  if (asking.size === 0) return { status: 'allowed' };
  const signal = AbortSignal.any([session.ending.signal, ...(change.signal ? [change.signal] : [])]);
  const approvalId = newApprovalId();
  await requestApproval(
    { approvals: deps.approvals, reviewer: deps.reviewer },
    {
      id: approvalId,
      sessionId: session.id,
      commandId: null,
      action: 'write_file',
      subject: shown(change.subject),
      parsed: change.targets.slice(0, MAX_REASONS).map(shown),
      reasons: [...asking],
      ruleIds: [...ruleIds],
      timeoutMs: deps.approvalTimeoutMs,
      capabilities: session.capabilities,
    },
    signal,
  );
  const outcome = await awaitDecision(deps.approvals, approvalId, signal, 'write');
  if (outcome.approved) return { status: 'approved', approvalId };
  return { status: 'denied', approvalId, reasons: [refusalReason(outcome, 'write', deps.approvalTimeoutMs)] };
}
