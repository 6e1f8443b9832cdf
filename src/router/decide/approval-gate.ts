/**
 * `router.approvalRequiredFor`: commands a person approves first even when the policy allows them. The
 * listed commands become ask rules of a policy of their own, compiled once at load and checked beside
 * the session's policy. `write_file` is not a command: the file path of the router handles it.
 *
 * This is the one place that knows how the gate is evaluated; the decide stage asks it only through
 * `reasonsFor`, so the gate can become an answer of the policy engine itself without touching the
 * pipeline.
 */
import { AirlockError } from '../../errors/index.ts';
import { evaluatePolicy, loadPolicy, PolicyLoadError } from '../../policy/index.ts';
import type { Policy } from '../../policy/index.ts';

export interface ApprovalGate {
  /** Why a person must approve `command` first: one reason per listed command it runs; empty when none. */
  reasonsFor(command: string): string[];
}

/** The entries that are commands (`write_file` is handled by the file path). */
export function gatedCommands(entries: readonly string[]): string[] {
  return entries.filter((entry) => entry !== 'write_file');
}

/** Compiles the gate; null when it lists no commands. Throws INVALID_CONFIG naming the key. */
export function createApprovalGate(entries: readonly string[]): ApprovalGate | null {
  const commands = gatedCommands(entries);
  if (commands.length === 0) return null;
  const rules = commands.map((entry, index) => ({
    id: `approval-required-${index}`,
    match: entry,
    decision: 'ask' as const,
    reason: `router.approvalRequiredFor lists "${entry}": a person approves it first.`,
  }));
  let policy: Policy;
  try {
    policy = loadPolicy({ origin: 'router.approvalRequiredFor', document: { default: 'allow', rules } });
  } catch (error) {
    if (!(error instanceof PolicyLoadError)) throw error;
    throw new AirlockError(
      'INVALID_CONFIG',
      `router.approvalRequiredFor: ${error.issues.map((issue) => issue.message).join('; ')}`,
      { key: 'router.approvalRequiredFor' },
    );
  }
  // The gate's own rules, by id: the compiled policy may hold others (a preset's), which are not ours
  // to enforce here.
  const ownRules = new Set(rules.map((rule) => rule.id));
  return {
    reasonsFor(command) {
      return evaluatePolicy(policy, command)
        .commands.flatMap((verdict) => verdict.effects)
        .filter((effect) => ownRules.has(effect.ruleId) && effect.decision === 'ask')
        .map((effect) => effect.reason);
    },
  };
}
