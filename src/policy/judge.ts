import type { CommandAnalysis, Effect, Hazard, HazardCode, PathRef, Span } from '../shell/index.ts';
import type { CompiledCapabilities } from './capabilities.ts';
import type { Policy } from './compile.ts';
import { coveredSecrets } from './coverage.ts';
import { targetOf, type Target } from './glob-match.ts';
import { matchPlaces, matchRule, type CompiledRule } from './match.ts';
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
  /** For a connection: the host it reaches, when the command names it (what a person could grant). */
  readonly host?: string;
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
  'assignment-prefix': 'set only ordinary variables; pass other settings as options.',
  'control-character': 'remove control characters (CR, ESC, bidi, zero-width) from the command.',
  'limit-exceeded': 'split the work into smaller commands.',
  'line-continuation': 'write each word on one line.',
  'unseen-code':
    'run the commands themselves rather than text built at run time or piped into an interpreter, so each can be judged.',
  'opaque-option': 'drop that option or use one that does not run commands or write files.',
  'argument-injection': 'write the arguments literally or quote the variable.',
  'prompt-expansion': 'avoid ${var@P} and similar re-expansion.',
  'arithmetic-indirection': 'use literal numbers in arithmetic.',
  'unknown-directory': 'use paths that do not depend on a directory only known at run time.',
  privilege: 'run without privilege changes or host mounts; the sandbox already grants what a command needs.',
  'escape-hatch':
    "this runs a shell or other program through another tool's escape hatch, a pattern attacks use to hide what runs; run the program directly instead.",
  'reverse-shell':
    'this connects a shell to a network peer (a reverse or bind shell); it is never allowed. Run the commands you need directly.',
  'raw-device': 'this writes a raw disk or memory device; it is never allowed. Write files instead.',
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

export function hazardVerdict(hazard: Hazard, policy: Policy, caps?: CompiledCapabilities): EffectVerdict {
  // Inside a sandbox the session's own environment is set by whoever configured the session, and a
  // fresh shell gets nothing else: a value from it is not the command's choice.
  const sessionOnly = hazard.sessionValue === true && caps?.sandboxed === true;
  return {
    summary: hazard.detail,
    kind: 'hazard',
    decision: policy.dangerouslyAllowUnjudged || sessionOnly ? 'allow' : hazard.floor,
    ruleId: `hazard:${hazard.code}`,
    // The summary already says what was found; the reason is what to do about it.
    reason: HAZARD_ADVICE[hazard.code],
    span: hazard.span,
  };
}

/**
 * Whether a rule that may match this effect only for some run-time value, some expansion of a glob
 * or something below a directory ("maybe") still keeps it from being allowed.
 * - A path the session's environment fixes (a variable the command never assigns) is not the
 *   command's choice; inside a sandbox, doubt about it does not count.
 * - Inside a sandbox, a read that only *may* reach a credential store: host stores are not there,
 *   and the secret files and variables the session does hold were given to it and are judged by the
 *   `given-secret` rules, which still ask about a value only known at run time. Doubt still counts
 *   when the command aims at a place where a store lives (`/e??/shad*`, `~/.ss?/*`): only rules for
 *   names found anywhere (`**` + `/.env`) are set aside, and only for reads. A read that certainly
 *   names a store (`cat .env`, `$D/.ssh/id_rsa`) is refused as before.
 * - Unsandboxed, only a listing of the workspace's own files (`wc -l $(git ls-files)`) is let
 *   through; anything else might be any file of the person's machine.
 */
function doubtCounts(
  rule: CompiledRule,
  effect: Effect,
  caps: CompiledCapabilities,
  target: Target | null,
): boolean {
  if (rule.decision === 'allow' || rule.where !== null) return true;
  if (effect.kind !== 'read' && effect.kind !== 'write' && effect.kind !== 'delete') return true;
  if (caps.sandboxed && effect.path.sessionValue === true) return false;
  if (effect.kind !== 'read') return true;
  if (!caps.sandboxed) return !(effect.path.pattern === null && effect.path.listing === true);
  if (effect.path.pattern === null) return false;
  return target !== null && matchPlaces(rule, target) !== 'no';
}

export function judgeEffect(effect: Effect, policy: Policy, caps: CompiledCapabilities): EffectVerdict {
  if (effect.kind === 'hazard') return hazardVerdict(effect.hazard, policy, caps);
  const summary = summarize(effect);
  let best: CompiledRule | null = null;
  let maybe: CompiledRule | null = null;
  const target = targetOf(effect);
  for (const rule of policy.byKind?.get(effect.kind) ?? policy.rules) {
    const result = matchRule(rule, effect, caps, target);
    if (result === 'yes') {
      if (best === null || RANK[rule.decision] > RANK[best.decision]) best = rule;
    } else if (result === 'maybe' && rule.decision !== 'allow' && doubtCounts(rule, effect, caps, target)) {
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
  const host = effect.kind === 'net' && effect.host !== null ? { host: effect.host } : {};
  return { summary, kind: effect.kind, decision, ruleId, reason, span: effect.span, ...host };
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

export function judgeCommand(
  command: CommandAnalysis,
  policy: Policy,
  caps: CompiledCapabilities,
): CommandVerdict {
  // A read that covers a secret file (a recursive grep, an archive of the directory) reads that file.
  const effects = [...command.effects, ...coveredSecrets(command.effects, caps)].map((e) =>
    judgeEffect(e, policy, caps),
  );
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

export { unique };
