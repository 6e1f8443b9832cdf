import { escapeForDisplay } from '../shell/index.ts';
import type { Decision } from './evaluate.ts';

/**
 * Renders a decision for a person: the parsed commands (never the raw text), each effect with its
 * verdict and rule, and every control character escaped so the screen shows what would run.
 */
export function renderDecision(decision: Decision): string {
  const lines: string[] = [];
  lines.push(`decision: ${decision.decision.toUpperCase()}  (policy ${escapeForDisplay(decision.policy)})`);
  for (const hazard of decision.hazards) {
    lines.push(`  ! ${hazard.decision.padEnd(5)} ${escapeForDisplay(hazard.summary)}  [${hazard.ruleId}]`);
  }
  decision.commands.forEach((command, index) => {
    lines.push(`  ${index + 1}. ${escapeForDisplay(command.command)}  → ${command.decision}`);
    for (const effect of command.effects) {
      lines.push(
        `       ${effect.decision.padEnd(5)} ${escapeForDisplay(effect.summary)}  [${escapeForDisplay(effect.ruleId)}]`,
      );
    }
  });
  if (decision.decision !== 'allow') {
    lines.push('reasons:');
    for (const reason of decision.reasons) lines.push(`  - ${escapeForDisplay(reason)}`);
  }
  return lines.join('\n');
}
