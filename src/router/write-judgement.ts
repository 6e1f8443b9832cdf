/**
 * The decide stage for a file copied in: the session's policy judges the write by the same path rules
 * as a shell redirection (`engine.evaluateFileAccess`), and `router.approvalRequiredFor` listing
 * `write_file` makes every write ask. A secret file that enters (the policy's list of credential and
 * secret stores) is registered with the session: its values are redacted from every output, and the
 * policy treats reads of it as reads of a secret the session was given.
 */
import { isSecretPath } from '../policy/index.ts';
import type { DecisionValue, PolicyEngine } from '../policy/index.ts';
import type { LiveSession, SessionManager } from '../sessions/index.ts';
import { secretFileValues } from './shape/index.ts';

export interface WriteJudgement {
  readonly value: DecisionValue;
  readonly reasons: readonly string[];
  readonly ruleIds: readonly string[];
}

const GATE_REASON = 'router.approvalRequiredFor lists write_file: a person approves every file write';
const GATE_RULE = 'approval-required:write_file';

/** `target` is the absolute sandbox path (`resolveSandboxPath`). */
export function judgeWrite(engine: PolicyEngine, session: LiveSession, target: string): WriteJudgement {
  const decision = engine.evaluateFileAccess('write', target, { capabilities: session.capabilities });
  const gated = engine.approvalGate?.writeFile === true;
  if (decision.decision === 'allow' && !gated) {
    return { value: 'allow', reasons: [], ruleIds: decision.ruleIds };
  }
  if (decision.decision === 'allow') return { value: 'ask', reasons: [GATE_REASON], ruleIds: [GATE_RULE] };
  const reasons =
    gated && decision.decision === 'ask' ? [...decision.reasons, GATE_REASON] : decision.reasons;
  return { value: decision.decision, reasons, ruleIds: decision.ruleIds };
}

/**
 * The path as the policy's patterns are written: `./x` in the workspace, `~/x` in HOME, else absolute.
 */
function canonical(target: string, session: LiveSession): string {
  const { workspace, home } = session.capabilities;
  if (target.startsWith(`${workspace}/`)) return `.${target.slice(workspace.length)}`;
  if (target.startsWith(`${home}/`)) return `~${target.slice(home.length)}`;
  return target;
}

export function registerSecretFile(
  sessions: Pick<SessionManager, 'addSecretFile'>,
  session: LiveSession,
  target: string,
  data: Uint8Array,
): void {
  if (!isSecretPath(canonical(target, session))) return;
  sessions.addSecretFile(session, target, secretFileValues(data));
}
