/**
 * The decide stage: the session's policy judges the command, `approvalRequiredFor` may tighten an
 * allow into an ask, and only what a person approved for the session (literally) loosens an ask.
 * Synchronous and without I/O, like the policy itself.
 */
import type { Decision, DecisionValue, PolicyEngine, SessionCapabilities } from '../../policy/index.ts';
import type { ApprovalGate } from './approval-gate.ts';

export interface Verdict {
  /** The policy's decision, with the gate's reasons added when it asked for a person. */
  readonly decision: Decision;
  /** What the pipeline does: run, ask a person, or refuse. */
  readonly value: DecisionValue;
}

export interface DecideInput {
  readonly engine: PolicyEngine;
  readonly gate: ApprovalGate | null;
  /** Parsed commands a person approved for the rest of the session. */
  readonly remembered: ReadonlySet<string>;
  readonly command: string;
  /** The session's sandbox as it is now (its network above all); default: the policy's own default. */
  readonly capabilities?: SessionCapabilities;
}

export function decide(input: DecideInput): Verdict {
  const { engine, gate, remembered, command, capabilities } = input;
  const decision = engine.evaluate(command, capabilities === undefined ? undefined : { capabilities });
  let value = decision.decision;
  const forced = value === 'allow' && gate !== null ? gate.reasonsFor(command) : [];
  if (forced.length > 0) value = 'ask';
  // A remembered approval never overrides a hazard (an unparsable or hidden part), and covers the
  // whole command only when every part that needs a person was approved before, literally.
  if (value === 'ask' && decision.hazards.every((hazard) => hazard.decision === 'allow')) {
    const asked = decision.commands.filter((verdict) => verdict.decision !== 'allow');
    const gated = forced.length > 0 ? decision.commands : asked;
    const allRemembered =
      gated.length > 0 &&
      gated.every((verdict) => verdict.decision !== 'deny' && remembered.has(verdict.command));
    if (allRemembered) value = 'allow';
  }
  if (forced.length > 0 && value === 'ask') {
    return { decision: { ...decision, decision: 'ask', reasons: [...decision.reasons, ...forced] }, value };
  }
  return { decision, value };
}

/**
 * What a person's "approve for this session" remembers of a decision: only fully literal commands,
 * because `rm -rf $DIR` approved once must not run unasked later, when $DIR (or a substitution's
 * output) may name something else.
 */
export function rememberable(decision: Decision): string[] {
  return decision.commands.map((verdict) => verdict.command).filter((command) => !/[$`]/.test(command));
}
