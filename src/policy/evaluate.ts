import { SANDBOX_WORKSPACE } from './workspace.ts';
import {
  analyzeShell,
  cheapWords,
  scanControlCharacters,
  escapeGlob,
  resolvePathPattern,
  type CrossCheck,
  type Effect,
  type Hazard,
  type ShellAnalysis,
} from '../shell/index.ts';
import type { Policy } from './compile.ts';
import { approvalsFor, type ApprovalGate, type ApprovalRequirement } from './approval-gate.ts';
import {
  compileCapabilities,
  DEFAULT_CAPABILITIES,
  type CompiledCapabilities,
  type SessionCapabilities,
} from './capabilities.ts';
import {
  hazardVerdict,
  judgeCommand,
  stricter,
  unique,
  type CommandVerdict,
  type EffectVerdict,
} from './judge.ts';
import { matchRule } from './match.ts';
import type { DecisionValue } from './schema.ts';

export interface Decision {
  readonly decision: DecisionValue;
  /** Reasons written for the model: what was refused and what would be allowed instead. */
  readonly reasons: readonly string[];
  readonly commands: readonly CommandVerdict[];
  /** Problems with the command as a whole (parse errors, control characters, limits). */
  readonly hazards: readonly EffectVerdict[];
  readonly ruleIds: readonly string[];
  /**
   * The `router.approvalRequiredFor` entries this command matches (from the same parse). When the
   * policy alone would allow it, they make the decision `ask`.
   */
  readonly approvalsRequired: readonly ApprovalRequirement[];
  readonly policy: string;
  readonly crossChecked: boolean;
}

/**
 * Commands too long to parse are still checked word by word against deny rules, so exceeding a
 * limit can never skip a deny.
 */
function cheapDenyPass(
  source: string,
  policy: Policy,
  workspaceRoot: string | undefined,
  caps: CompiledCapabilities,
): EffectVerdict[] {
  const words = cheapWords(source);
  const verdicts: EffectVerdict[] = [];
  const denyRules = policy.rules.filter((r) => r.decision === 'deny');
  const span = { start: 0, end: source.length };
  for (const word of words) {
    const path = resolvePathPattern(escapeGlob(word), word, '.', workspaceRoot);
    for (const kind of ['read', 'write', 'delete'] as const) {
      const effect: Effect = { kind, path, span };
      const rule = denyRules.find((r) => matchRule(r, effect, caps) === 'yes');
      if (rule)
        verdicts.push({
          summary: `mentions ${word}`,
          kind,
          decision: 'deny',
          ruleId: rule.id,
          reason: rule.reason,
          span,
        });
    }
  }
  for (let i = 0; i < words.length; i++) {
    const effect: Effect = { kind: 'exec', program: words[i] as string, argv: words.slice(i, i + 8), span };
    const rule = denyRules.find((r) => r.prefixes !== null && matchRule(r, effect, caps) === 'yes');
    if (rule)
      verdicts.push({
        summary: `mentions ${words.slice(i, i + 3).join(' ')}`,
        kind: 'exec',
        decision: 'deny',
        ruleId: rule.id,
        reason: rule.reason,
        span,
      });
  }
  return verdicts;
}

/** Only whitespace and comments: the shell runs nothing. */
function isBlank(command: string): boolean {
  return command.split('\n').every((line) => line.trim() === '' || line.trim().startsWith('#'));
}

const NOTHING_FOUND = (command: string): Hazard => ({
  code: 'parse-error',
  detail: 'the parser found no command in this text',
  span: { start: 0, end: command.length },
  floor: 'ask',
});

export interface EvaluateOptions {
  readonly crossCheck?: CrossCheck | undefined;
  /** The directory commands start in; `null` judges absolute paths as written. Default: the capabilities' workspace. */
  readonly workspaceRoot?: string | null | undefined;
  /** What the session's sandbox allows; default: today's sandbox (no network, /workspace and /tmp writable). */
  readonly capabilities?: SessionCapabilities | CompiledCapabilities | undefined;
  /** `router.approvalRequiredFor`, compiled with `compileApprovalGate`. */
  readonly approvalGate?: ApprovalGate | undefined;
}

/**
 * One decision from the verdicts of every part: the strictest wins (nothing found runs nothing, so
 * it is allowed), every reason that is not an allow is kept, and the rules that decided are those
 * whose verdict is the final one.
 */
function combineVerdicts(
  commands: readonly CommandVerdict[],
  hazards: readonly EffectVerdict[],
  reasonOf: (command: CommandVerdict, reason: string) => string,
): { decision: DecisionValue; reasons: string[]; ruleIds: string[] } {
  let decision: DecisionValue = 'allow';
  for (const c of commands) decision = stricter(decision, c.decision);
  for (const h of hazards) decision = stricter(decision, h.decision);
  const reasons = unique([
    ...hazards.filter((h) => h.decision !== 'allow').map((h) => `${h.summary}: ${h.reason}`),
    ...commands.flatMap((c) => c.reasons.map((r) => reasonOf(c, r))),
  ]);
  const ruleIds = unique([
    ...hazards.filter((h) => h.decision === decision).map((h) => h.ruleId),
    ...commands.filter((c) => c.decision === decision).flatMap((c) => c.ruleIds),
  ]);
  return { decision, reasons, ruleIds };
}

function compiledOf(capabilities: EvaluateOptions['capabilities']): CompiledCapabilities {
  if (capabilities === undefined) return compileCapabilities(DEFAULT_CAPABILITIES);
  return 'sandboxed' in capabilities ? capabilities : compileCapabilities(capabilities);
}

/** Judges one command line. Pure and synchronous: no I/O, no clock. */
export function evaluatePolicy(policy: Policy, command: string, options: EvaluateOptions = {}): Decision {
  const caps = compiledOf(options.capabilities);
  const workspaceRoot =
    options.workspaceRoot === null
      ? undefined
      : (options.workspaceRoot ?? (options.capabilities ? caps.workspace : SANDBOX_WORKSPACE));
  const analysis: ShellAnalysis = analyzeShell(command, { workspaceRoot });
  const hazards: Hazard[] = [...analysis.hazards];
  const crossChecked = options.crossCheck !== undefined && analysis.commands.length > 0;
  if (options.crossCheck && analysis.commands.length > 0) {
    const result = options.crossCheck.check(command);
    if (!result.agrees) {
      hazards.push({
        code: 'parser-disagreement',
        detail: result.detail,
        span: { start: 0, end: command.length },
        floor: 'ask',
      });
    }
  }
  const hazardVerdicts = hazards.map((h) => hazardVerdict(h, policy, caps));
  if (analysis.commands.length === 0 && hazards.some((h) => h.code === 'limit-exceeded')) {
    hazardVerdicts.push(...cheapDenyPass(command, policy, workspaceRoot, caps));
  }
  if (analysis.commands.length === 0 && hazardVerdicts.length === 0 && !isBlank(command)) {
    // Text that is not blank but in which the parser found nothing to run: fail closed.
    hazardVerdicts.push(hazardVerdict(NOTHING_FOUND(command), policy));
  }
  const commands = analysis.commands.map((c) => judgeCommand(c, policy, caps));
  const combined = combineVerdicts(commands, hazardVerdicts, (c, r) => `${c.command}: ${r}`);
  let { decision } = combined;
  const { reasons, ruleIds } = combined;
  const approvalsRequired = options.approvalGate ? approvalsFor(options.approvalGate, analysis, caps) : [];
  if (decision === 'allow' && approvalsRequired.length > 0) {
    // The operator asked for a person on these commands even where the policy would allow them.
    decision = 'ask';
    reasons.push(...unique(approvalsRequired.map((a) => a.reason)));
    ruleIds.splice(0, ruleIds.length, ...unique(approvalsRequired.map((a) => a.ruleId)));
  }
  return {
    decision,
    reasons: reasons.length > 0 ? reasons : ['every part of this command is allowed by the policy'],
    commands,
    hazards: hazardVerdicts,
    ruleIds,
    approvalsRequired,
    policy: policy.origin,
    crossChecked,
  };
}

export type FileAccess = 'read' | 'write' | 'delete';

/**
 * Judges a file tool's access to one path (an agent's Write/Edit tool, `write_file`) by the same path
 * rules as a shell redirection, so a heredoc and a file tool get one answer.
 */
export function evaluateFileAccess(
  policy: Policy,
  access: FileAccess,
  path: string,
  options: EvaluateOptions = {},
): Decision {
  const caps = compiledOf(options.capabilities);
  const workspaceRoot =
    options.workspaceRoot === null
      ? undefined
      : (options.workspaceRoot ?? (options.capabilities ? caps.workspace : SANDBOX_WORKSPACE));
  const span = { start: 0, end: path.length };
  const hazards: Hazard[] = [...scanControlCharacters(path)];
  const ref = resolvePathPattern(escapeGlob(path), path, '.', workspaceRoot);
  const analysis: ShellAnalysis = {
    source: path,
    hazards,
    commands: [
      {
        display: `${access} ${path}`,
        program: null,
        span,
        effects: [{ kind: access, path: ref, span }],
      },
    ],
  };
  const hazardVerdicts = hazards.map((h) => hazardVerdict(h, policy, caps));
  const commands = analysis.commands.map((c) => judgeCommand(c, policy, caps));
  const { decision, reasons, ruleIds } = combineVerdicts(commands, hazardVerdicts, (_c, r) => r);
  return {
    decision,
    reasons: reasons.length > 0 ? reasons : ['every part of this access is allowed by the policy'],
    commands,
    hazards: hazardVerdicts,
    ruleIds,
    approvalsRequired: [],
    policy: policy.origin,
    crossChecked: false,
  };
}
