import type { ShellAnalysis } from '../shell/index.ts';
import type { CompiledCapabilities } from './capabilities.ts';
import { PolicyLoadError, type PolicyIssue } from './errors.ts';
import { compilePrefixes, matchRule, type CompiledRule } from './match.ts';

/** The `router.approvalRequiredFor` entry that is not a command: every `write_file` call asks. */
export const WRITE_FILE_ENTRY = 'write_file';

/** One `approvalRequiredFor` command entry, compiled like a `match:` rule. */
export interface ApprovalGateEntry {
  /** The entry as the operator wrote it (`pip install`). */
  readonly entry: string;
  /** Its position in `router.approvalRequiredFor`. */
  readonly index: number;
  readonly rule: CompiledRule;
}

/** `router.approvalRequiredFor`, compiled once at start-up. */
export interface ApprovalGate {
  readonly origin: 'router.approvalRequiredFor';
  readonly entries: readonly ApprovalGateEntry[];
  /** The list names `write_file`: file writes ask too (the router's concern, not the shell's). */
  readonly writeFile: boolean;
}

/** A command that needs a person because of one `approvalRequiredFor` entry. */
export interface ApprovalRequirement {
  readonly entry: string;
  readonly index: number;
  /** The parsed command the entry matched. */
  readonly command: string;
  /** `approval-required:<index>`, the id shown with the decision. */
  readonly ruleId: string;
  readonly reason: string;
  /** The entry matches only for some run-time value (`pip $CMD`); a person is asked all the same. */
  readonly certain: boolean;
}

/**
 * Compiles `router.approvalRequiredFor`. Each command entry is an argv prefix with glob words, like a
 * rule's `match:`; a bad entry throws PolicyLoadError naming it, so start-up stops instead of
 * running without the gate.
 */
export function compileApprovalGate(entries: readonly string[]): ApprovalGate {
  const issues: PolicyIssue[] = [];
  const compiled: ApprovalGateEntry[] = [];
  entries.forEach((entry, index) => {
    if (entry === WRITE_FILE_ENTRY) return;
    if (entry.trim() === '') {
      issues.push({ path: `${index}`, message: 'an empty entry would match nothing; remove it' });
      return;
    }
    const rule: CompiledRule = Object.freeze({
      id: `approval-required:${index}`,
      decision: 'ask',
      reason: `router.approvalRequiredFor lists "${entry}": a person approves it first.`,
      prefixes: compilePrefixes([entry]),
      kinds: null,
      targets: null,
      places: null,
      except: [],
      langs: null,
      via: null,
      where: null,
    });
    compiled.push(Object.freeze({ entry, index, rule }));
  });
  if (issues.length > 0) throw new PolicyLoadError('router.approvalRequiredFor', issues);
  return Object.freeze({
    origin: 'router.approvalRequiredFor',
    entries: Object.freeze(compiled),
    writeFile: entries.includes(WRITE_FILE_ENTRY),
  });
}

/** Every entry of the gate that some command of this analysis runs (wrappers and `sh -c` unwrapped). */
export function approvalsFor(
  gate: ApprovalGate,
  analysis: ShellAnalysis,
  caps: CompiledCapabilities,
): ApprovalRequirement[] {
  const out: ApprovalRequirement[] = [];
  for (const command of analysis.commands) {
    for (const effect of command.effects) {
      if (effect.kind !== 'exec') continue;
      for (const { entry, index, rule } of gate.entries) {
        const result = matchRule(rule, effect, caps);
        if (result === 'no') continue;
        out.push({
          entry,
          index,
          command: command.display,
          ruleId: rule.id,
          reason: rule.reason,
          certain: result === 'yes',
        });
      }
    }
  }
  return out;
}
