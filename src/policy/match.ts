/**
 * Policy rules against effects: an argv prefix or an effect kind with its places, names, languages
 * and capability conditions. Where a path or host lands is glob-match.ts's question.
 */
import { globToRegExp, tokenizeGlob, type CodeVia, type Effect, type EffectKind } from '../shell/index.ts';
import { isWritable, netReach, type CompiledCapabilities } from './capabilities.ts';
import {
  compileArgWord,
  expandBraces,
  matchTarget,
  targetOf,
  type CompiledGlob,
  type MatchResult,
  type Target,
} from './glob-match.ts';
import type { DecisionValue, WhereCondition } from './schema.ts';

export interface CompiledRule {
  readonly id: string;
  readonly decision: DecisionValue;
  readonly reason: string;
  /** argv prefixes; each word is a regular expression for one argument. */
  readonly prefixes: CompiledPrefixes | null;
  readonly kinds: ReadonlySet<EffectKind> | null;
  readonly targets: readonly CompiledGlob[] | null;
  /** The targets that name a place (`~/.ssh/**`, `/etc/shadow`), not a name found anywhere (`**` + `/.env`). */
  readonly places: readonly CompiledGlob[] | null;
  readonly except: readonly CompiledGlob[];
  readonly langs: readonly CompiledGlob[] | null;
  readonly via: ReadonlySet<CodeVia> | null;
  /** Conditions on the session's capabilities; all must hold. */
  readonly where: readonly WhereCondition[] | null;
}

/** argv prefixes indexed by a literal program name, so a command is compared with few of them. */
export interface CompiledPrefixes {
  readonly byProgram: ReadonlyMap<string, readonly (readonly RegExp[])[]>;
  /** Prefixes whose first word is a pattern (`*`, `py*`). */
  readonly other: readonly (readonly RegExp[])[];
}

export function compilePrefixes(patterns: readonly string[]): CompiledPrefixes {
  const byProgram = new Map<string, RegExp[][]>();
  const other: RegExp[][] = [];
  for (const pattern of patterns.flatMap(expandBraces)) {
    const words = pattern.trim().split(/\s+/);
    const compiled = words.map(compileArgWord);
    const first = words[0] ?? '';
    if (/[*?\\]/.test(first)) other.push(compiled);
    else byProgram.set(first, [...(byProgram.get(first) ?? []), compiled]);
  }
  return { byProgram, other };
}

function matchPrefix(argv: readonly (string | null)[], prefix: readonly RegExp[]): MatchResult {
  if (argv.length < prefix.length) return 'no';
  let result: MatchResult = 'yes';
  for (let i = 0; i < prefix.length; i++) {
    const arg = argv[i];
    if (arg === null || arg === undefined) result = 'maybe';
    else if (!(prefix[i] as RegExp).test(arg)) return 'no';
  }
  return result;
}

function both(a: MatchResult, b: MatchResult): MatchResult {
  if (a === 'no' || b === 'no') return 'no';
  return a === 'maybe' || b === 'maybe' ? 'maybe' : 'yes';
}

/** Does one capability condition hold for this effect in this session? */
function holds(
  condition: WhereCondition,
  effect: Effect,
  caps: CompiledCapabilities,
  target: Target | null | undefined,
): MatchResult {
  switch (condition) {
    case 'sandboxed':
      return caps.sandboxed ? 'yes' : 'no';
    case 'unsandboxed':
      return caps.sandboxed ? 'no' : 'yes';
    case 'writable':
    case 'outside-writable': {
      if (effect.kind !== 'write' && effect.kind !== 'delete') return 'no';
      // A path the session's environment names: the sandbox itself keeps writes to its writable roots.
      if (effect.path.sessionValue === true && caps.sandboxed) return condition === 'writable' ? 'yes' : 'no';
      if (effect.path.pattern === null || effect.path.pattern.startsWith('**')) return 'maybe';
      let writable = target?.writable;
      if (writable === undefined) {
        writable = isWritable(effect.path.pattern, caps);
        if (target) target.writable = writable;
      }
      return writable === (condition === 'writable') ? 'yes' : 'no';
    }
    case 'given-secret':
    case 'not-given-secret': {
      let given: MatchResult;
      // A placeholder is neither: the value it stands for never enters the sandbox.
      if (effect.kind === 'env-read' && caps.placeholderEnv.has(effect.name)) return 'no';
      if (effect.kind === 'env-read') {
        // Reading every variable reads the given ones too.
        const all = effect.name === '(all)' || effect.name === '*';
        given = (all ? caps.secretEnv.size > 0 : caps.secretEnv.has(effect.name)) ? 'yes' : 'no';
      } else if (effect.kind === 'read') {
        const pattern = effect.path.pattern;
        if (caps.secretFiles.length === 0) given = 'no';
        else if (pattern === null) given = 'maybe';
        else if (pattern.startsWith('**')) {
          // Some path ending this way (`$D/.env`): it may be a given secret file.
          const regex = globToRegExp(tokenizeGlob(pattern));
          given = caps.secretFiles.some((f) => regex.test(f)) ? 'maybe' : 'no';
        } else given = caps.secretFiles.includes(pattern) ? 'yes' : 'no';
      } else return 'no';
      if (condition === 'given-secret') return given;
      return given === 'maybe' ? 'maybe' : given === 'yes' ? 'no' : 'yes';
    }
    case 'loopback':
    case 'granted':
    case 'grantable':
    case 'unreachable':
      if (effect.kind !== 'net') return 'no';
      return netReach(effect.host, caps) === condition ? 'yes' : 'no';
  }
}

/**
 * Does the rule match the effect in this session? `target` is `targetOf(effect)`, passed in when one
 * effect is matched against many rules so it is built (and tokenised) once.
 */
export function matchRule(
  rule: CompiledRule,
  effect: Effect,
  caps: CompiledCapabilities,
  target?: Target | null,
): MatchResult {
  if (rule.where === null) return matchEffect(rule, effect, target);
  let result: MatchResult = 'yes';
  for (const condition of rule.where) {
    result = both(result, holds(condition, effect, caps, target));
    if (result === 'no') return 'no';
  }
  return both(result, matchEffect(rule, effect, target));
}

function matchEffect(rule: CompiledRule, effect: Effect, prepared?: Target | null): MatchResult {
  if (rule.prefixes) {
    if (effect.kind !== 'exec') return 'no';
    let best: MatchResult = 'no';
    const candidates = [...(rule.prefixes.byProgram.get(effect.program) ?? []), ...rule.prefixes.other];
    for (const prefix of candidates) {
      const r = matchPrefix(effect.argv, prefix);
      if (r === 'yes') return 'yes';
      if (r === 'maybe') best = 'maybe';
    }
    return best;
  }
  if (!rule.kinds?.has(effect.kind)) return 'no';
  if (effect.kind === 'code') {
    if (rule.via && !rule.via.has(effect.via)) return 'no';
    if (rule.langs && !rule.langs.some((g) => g.regex.test(effect.lang))) return 'no';
    return 'yes';
  }
  const target = prepared === undefined ? targetOf(effect) : prepared;
  if (!target || !rule.targets) return 'yes';
  if (rule.except.length > 0 && matchTarget(target, rule.except) === 'yes') return 'no';
  // Refusals ignore case on paths; an allow never widens through a case variant.
  return matchTarget(target, rule.targets, rule.decision !== 'allow' && target.isPattern);
}

/** Could this rule's place-naming targets (not its names-anywhere ones) match the target? */
export function matchPlaces(rule: CompiledRule, target: Target): MatchResult {
  if (!rule.places) return 'yes';
  if (rule.places.length === 0) return 'no';
  return matchTarget(target, rule.places, target.isPattern);
}

/*
 * Security limitations
 * - A recursive effect on a literal directory inside the workspace (`grep -r x .`, `rm -rf dist`)
 *   is judged by the rules that cover the whole subtree: a secret file somewhere below (a .env in
 *   the workspace) does not make it ask. The sandbox, not this rule, keeps host secrets out of reach.
 * - Glob-versus-glob checks are sound but approximate: "covers" may answer no (then not allow) and
 *   bracket expressions at the start of a name are assumed to match a leading dot.
 */
