/**
 * The dry run: what the pipeline would decide for a command in a session, without running it,
 * asking anyone or recording a run. The same decide stage as `run` (policy, `approvalRequiredFor`,
 * what a person approved for the session), so a model can plan around a refusal before making it.
 */
import type { LiveSession } from '../sessions/index.ts';
import { decide } from './decide/index.ts';
import type { PipelineDeps } from './command-pipeline.ts';
import { checkRunInput } from './run-input.ts';
import type { CommandCheck } from './types.ts';

type CheckDeps = Pick<PipelineDeps, 'policyFor' | 'approvalGate' | 'redactorFor'>;

function bulleted(reasons: readonly string[]): string {
  return reasons.map((reason) => `\n- ${reason}`).join('');
}

export function checkCommand(deps: CheckDeps, session: LiveSession, command: string): CommandCheck {
  // The same input bounds as a run: a check of a command that could never run says so the same way.
  checkRunInput(session, command, {});
  const verdict = decide({
    engine: deps.policyFor(session),
    gate: deps.approvalGate,
    remembered: session.remembered,
    command,
  });
  const redactor = deps.redactorFor(session);
  const redact = (text: string): string => redactor.redact(text).text;
  const reasons = verdict.decision.reasons.map(redact);
  const { ruleIds } = verdict.decision;
  const rules = ruleIds.length > 0 ? ` (rule ${ruleIds.join(', ')})` : '';
  const forModel =
    verdict.value === 'allow'
      ? 'allow: it would run without asking anyone. Nothing was run.'
      : verdict.value === 'ask'
        ? `ask: a person would have to approve it before it runs${rules}. Nothing was run.${bulleted(reasons)}`
        : `deny: it would be refused${rules}. Nothing was run.${bulleted(reasons)}`;
  return {
    sessionId: session.id,
    command: redact(command),
    decision: verdict.value,
    reasons,
    ruleIds,
    forModel,
  };
}
