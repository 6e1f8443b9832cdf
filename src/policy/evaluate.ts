import { SANDBOX_WORKSPACE } from './workspace.ts';
import {
  analyzeShell,
  cheapWords,
  escapeGlob,
  resolvePathPattern,
  type CommandAnalysis,
  type CrossCheck,
  type Effect,
  type Hazard,
  type HazardCode,
  type PathRef,
  type ShellAnalysis,
  type Span,
} from '../shell/index.ts';
import type { Policy } from './compile.ts';
import { matchRule, type CompiledRule } from './match.ts';
import type { DecisionValue } from './schema.ts';

export interface EffectVerdict {
  /** What the effect does, in words: `deletes /tmp/victim`. */
  readonly summary: string;
  readonly kind: Effect['kind'];
  readonly decision: DecisionValue;
  /** The rule that decided, `default`, or `hazard:<code>` for what the analysis could not judge. */
  readonly ruleId: string;
  readonly reason: string;
  readonly span: Span;
}

export interface CommandVerdict {
  /** The parsed command (quote-removed), never the raw text. */
  readonly command: string;
  readonly program: string | null;
  readonly span: Span;
  readonly decision: DecisionValue;
  readonly ruleIds: readonly string[];
  readonly reasons: readonly string[];
  readonly effects: readonly EffectVerdict[];
}

export interface Decision {
  readonly decision: DecisionValue;
  /** Reasons written for the model: what was refused and what would be allowed instead. */
  readonly reasons: readonly string[];
  readonly commands: readonly CommandVerdict[];
  /** Problems with the command as a whole (parse errors, control characters, limits). */
  readonly hazards: readonly EffectVerdict[];
  readonly ruleIds: readonly string[];
  readonly policy: string;
  readonly crossChecked: boolean;
}

const RANK: Record<DecisionValue, number> = { allow: 0, ask: 1, deny: 2 };

export function stricter(a: DecisionValue, b: DecisionValue): DecisionValue {
  return RANK[a] >= RANK[b] ? a : b;
}

/** What the model can do instead, per hazard. */
const HAZARD_ADVICE: Record<HazardCode, string> = {
  'parse-error': 'the command does not parse as bash; fix the syntax.',
  'parser-disagreement': 'two shell parsers read this command differently; write it more plainly.',
  'dynamic-command-name':
    'write the command name literally (no variables, substitutions, globs or braces in it).',
  'assignment-prefix':
    'only a few variables (CI, NODE_ENV, LANG, lower-case names…) may be set; pass other settings as options.',
  'control-character': 'remove control characters (CR, ESC, bidi, zero-width) from the command.',
  'limit-exceeded': 'split the work into smaller commands.',
  'line-continuation': 'write each word on one line.',
  'unseen-code':
    'run the commands themselves rather than a script, a pipe into a shell or a string built at run time, so each can be judged.',
  'opaque-option': 'drop that option or use one that does not run commands or write files.',
  'argument-injection': 'write the arguments literally or quote the variable.',
  'prompt-expansion': 'avoid ${var@P} and similar re-expansion.',
  'arithmetic-indirection': 'use literal numbers in arithmetic.',
  'unknown-directory': 'use paths that do not depend on a directory only known at run time.',
  privilege: 'run without privilege changes or host mounts; the sandbox already grants what a command needs.',
};

function describePath(path: PathRef): string {
  if (path.pattern === null) return `${path.text} (only known at run time)`;
  if (path.name !== undefined) return `entries named ${path.name} below ${path.pattern}`;
  return path.recursive ? `${path.pattern} and everything below it` : path.pattern;
}

export function summarize(effect: Effect): string {
  switch (effect.kind) {
    case 'exec':
      return `runs ${effect.argv.map((a) => a ?? '…').join(' ')}`;
    case 'read':
      return `reads ${describePath(effect.path)}`;
    case 'write':
      return `writes ${describePath(effect.path)}`;
    case 'delete':
      return `deletes ${describePath(effect.path)}`;
    case 'net':
      return `connects to ${effect.host ?? 'a host only known at run time'}`;
    case 'env-change':
      return `sets ${effect.name}`;
    case 'env-read':
      return effect.name === '(all)' || effect.name === '*'
        ? 'reads every environment variable'
        : `reads $${effect.name}`;
    case 'state-change':
      return `changes shell state (${effect.what})`;
    case 'code':
      return `runs ${effect.lang} code (${effect.via})`;
    case 'hazard':
      return effect.hazard.detail;
  }
}

function hazardVerdict(hazard: Hazard, policy: Policy): EffectVerdict {
  return {
    summary: hazard.detail,
    kind: 'hazard',
    decision: policy.dangerouslyAllowUnjudged ? 'allow' : hazard.floor,
    ruleId: `hazard:${hazard.code}`,
    reason: `${hazard.detail}: ${HAZARD_ADVICE[hazard.code]}`,
    span: hazard.span,
  };
}

function judgeEffect(effect: Effect, policy: Policy): EffectVerdict {
  if (effect.kind === 'hazard') return hazardVerdict(effect.hazard, policy);
  const summary = summarize(effect);
  let best: CompiledRule | null = null;
  let maybe: CompiledRule | null = null;
  for (const rule of policy.rules) {
    const result = matchRule(rule, effect);
    if (result === 'yes') {
      if (best === null || RANK[rule.decision] > RANK[best.decision]) best = rule;
    } else if (result === 'maybe' && rule.decision !== 'allow') {
      if (maybe === null || RANK[rule.decision] > RANK[maybe.decision]) maybe = rule;
    }
  }
  let decision: DecisionValue;
  let ruleId: string;
  let reason: string;
  if (best) {
    decision = best.decision;
    ruleId = best.id;
    reason = best.reason;
  } else {
    decision = policy.default;
    ruleId = 'default';
    reason =
      effect.kind === 'exec'
        ? `${effect.program} is not on this policy's list of known commands; a person must approve it (policy default: ${policy.default}).`
        : `no rule covers this (policy default: ${policy.default}).`;
  }
  // A rule that matches only for some run-time value cannot deny for sure, but it rules out allow.
  if (maybe && (RANK[decision] < RANK.ask || (best === null && decision === 'ask'))) {
    decision = 'ask';
    ruleId = maybe.id;
    reason = `this may be covered by: ${maybe.reason} The value is only known at run time; write it literally.`;
  }
  // State changes are on the fail-closed list: never allow unless the policy opts out of judging.
  if (effect.kind === 'state-change' && decision === 'allow' && !policy.dangerouslyAllowUnjudged) {
    decision = 'ask';
    ruleId = 'hazard:state-change';
    reason = 'changing shell state affects later commands; a person must approve it.';
  }
  return { summary, kind: effect.kind, decision, ruleId, reason, span: effect.span };
}

function judgeCommand(command: CommandAnalysis, policy: Policy): CommandVerdict {
  const effects = command.effects.map((e) => judgeEffect(e, policy));
  let decision: DecisionValue = 'allow';
  for (const e of effects) decision = stricter(decision, e.decision);
  const refused = effects.filter((e) => e.decision !== 'allow');
  return {
    command: command.display,
    program: command.program,
    span: command.span,
    decision,
    ruleIds: unique(effects.filter((e) => e.decision === decision).map((e) => e.ruleId)),
    reasons: unique(refused.map((e) => `${e.summary}: ${e.reason}`)),
    effects,
  };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

/**
 * Commands too long to parse are still checked word by word against deny rules, so exceeding a
 * limit can never skip a deny.
 */
function cheapDenyPass(source: string, policy: Policy, workspaceRoot: string | undefined): EffectVerdict[] {
  const words = cheapWords(source);
  const verdicts: EffectVerdict[] = [];
  const denyRules = policy.rules.filter((r) => r.decision === 'deny');
  const span = { start: 0, end: source.length };
  for (const word of words) {
    const path = resolvePathPattern(escapeGlob(word), word, '.', workspaceRoot);
    for (const kind of ['read', 'write', 'delete'] as const) {
      const effect: Effect = { kind, path, span };
      const rule = denyRules.find((r) => matchRule(r, effect) === 'yes');
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
    const rule = denyRules.find((r) => r.prefixes !== null && matchRule(r, effect) === 'yes');
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

export interface EvaluateOptions {
  readonly crossCheck?: CrossCheck | undefined;
  /** The directory commands start in; `null` judges absolute paths as written. Default /workspace. */
  readonly workspaceRoot?: string | null | undefined;
}

/** Judges one command line. Pure and synchronous: no I/O, no clock. */
export function evaluatePolicy(policy: Policy, command: string, options: EvaluateOptions = {}): Decision {
  const workspaceRoot =
    options.workspaceRoot === null ? undefined : (options.workspaceRoot ?? SANDBOX_WORKSPACE);
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
  const hazardVerdicts = hazards.map((h) => hazardVerdict(h, policy));
  if (analysis.commands.length === 0 && hazards.some((h) => h.code === 'limit-exceeded')) {
    hazardVerdicts.push(...cheapDenyPass(command, policy, workspaceRoot));
  }
  const commands = analysis.commands.map((c) => judgeCommand(c, policy));
  let decision: DecisionValue = commands.length === 0 && hazardVerdicts.length === 0 ? 'allow' : 'allow';
  for (const c of commands) decision = stricter(decision, c.decision);
  for (const h of hazardVerdicts) decision = stricter(decision, h.decision);
  const reasons = unique([
    ...hazardVerdicts.filter((h) => h.decision !== 'allow').map((h) => h.reason),
    ...commands.flatMap((c) => c.reasons.map((r) => `${c.command}: ${r}`)),
  ]);
  const ruleIds = unique([
    ...hazardVerdicts.filter((h) => h.decision === decision).map((h) => h.ruleId),
    ...commands.filter((c) => c.decision === decision).flatMap((c) => c.ruleIds),
  ]);
  return {
    decision,
    reasons: reasons.length > 0 ? reasons : ['every part of this command is allowed by the policy'],
    commands,
    hazards: hazardVerdicts,
    ruleIds,
    policy: policy.origin,
    crossChecked,
  };
}
