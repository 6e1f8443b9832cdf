/**
 * A dry run: what the pipeline would decide about a command in this session, now — the session's
 * policy, its capabilities, `approvalRequiredFor` and what a person granted — without running,
 * asking or rate-limiting anything. The check itself is audited (`policy.checked`), so a model probing
 * the policy leaves a trail; it is not recorded as a command.
 */
import type { ApprovalGrant, Store } from '../store/index.ts';
import type { LiveSession } from '../sessions/index.ts';
import type { PolicyEngine } from '../policy/index.ts';
import { decide, offeredGrants } from './decide/index.ts';
import { checkRunInput } from './run-input.ts';
import type { Redactor } from './shape/index.ts';
import type { CheckResult } from './types.ts';

export interface CheckDeps {
  readonly store: Store;
  readonly policyFor: (session: LiveSession) => PolicyEngine;
  readonly redactorFor: (session: LiveSession) => Redactor;
  /** How long a call would wait for a person, for the words of an ask. */
  readonly approvalWaitMs: number;
}

function forModel(result: Omit<CheckResult, 'forModel'>, approvalWaitMs: number): string {
  const reasons = result.reasons.map((reason) => `\n- ${reason}`).join('');
  const rules = result.ruleIds.length > 0 ? ` (rule ${result.ruleIds.join(', ')})` : '';
  switch (result.decision) {
    case 'allow':
      return 'allow: it would run without asking anyone. Nothing was run.';
    case 'ask':
      return (
        `ask: a person would have to approve it before it runs${rules}. Nothing was run.${reasons}\n` +
        `Run it and the call waits up to ${Math.round(approvalWaitMs / 1000)} s for their decision, then ` +
        'answers pending_approval; it runs by itself once approved.'
      );
    case 'deny':
      return `deny: it would be refused${rules}. Nothing was run.${reasons}`;
  }
}

export async function checkCommand(deps: CheckDeps, session: LiveSession, raw: string): Promise<CheckResult> {
  // The same input checks as a run: what could not run cannot be checked either.
  checkRunInput(session, raw, {});
  const redactor = deps.redactorFor(session);
  const redact = (text: string): string => redactor.redact(text).text;
  const verdict = decide({
    engine: deps.policyFor(session),
    capabilities: session.capabilities,
    grants: { commands: session.remembered, programs: session.grantedPrograms },
    command: raw,
  });
  const grants: ApprovalGrant[] =
    verdict.value === 'ask'
      ? offeredGrants(verdict.decision).map((grant) => ({ ...grant, covers: grant.covers.map(redact) }))
      : [];
  const facts = {
    sessionId: session.id,
    command: redact(raw),
    decision: verdict.value,
    reasons: verdict.decision.reasons.map(redact),
    ruleIds: [...verdict.decision.ruleIds],
    approvalRequiredFor: [...new Set(verdict.decision.approvalsRequired.map((entry) => entry.entry))],
    grants,
  };
  await deps.store.commit({
    events: [
      {
        type: 'policy.checked',
        sessionId: session.id,
        commandId: null,
        data: {
          command: facts.command,
          decision: facts.decision,
          policy: verdict.decision.policy,
          ruleIds: facts.ruleIds,
          reasons: facts.reasons,
        },
      },
    ],
  });
  return { ...facts, forModel: forModel(facts, deps.approvalWaitMs) };
}
