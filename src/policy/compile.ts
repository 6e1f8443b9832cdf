import { parse as parseYaml, YAMLParseError } from 'yaml';
import { SANDBOX_WORKSPACE } from './workspace.ts';
import { z } from 'zod';
import { analyzeShell, type EffectKind } from '../shell/index.ts';
import { PolicyLoadError, type PolicyIssue } from './errors.ts';
import { compileCapabilities, DEFAULT_CAPABILITIES } from './capabilities.ts';
import { compileGlobs } from './glob-match.ts';
import { compilePrefixes, matchRule, type CompiledRule } from './match.ts';
import { PRESETS } from './presets.ts';
import {
  policySchema,
  ruleSchema,
  type DecisionValue,
  type PolicyDocument,
  type PresetName,
  type Rule,
} from './schema.ts';

/** A loaded, validated, compiled and frozen policy. */
export interface Policy {
  /** Where it came from: `preset:coding-agent` or a file name. */
  readonly origin: string;
  readonly default: DecisionValue;
  readonly dangerouslyAllowUnjudged: boolean;
  readonly rules: readonly CompiledRule[];
  /**
   * The rules that can match each kind of effect, in policy order: a command's effects are compared
   * with these only (command-prefix rules apply to `exec` alone; a rule for reads never to a write).
   */
  readonly byKind?: ReadonlyMap<EffectKind, readonly CompiledRule[]>;
  /** Things a person should be told when this policy is used (e.g. the permissive preset). */
  readonly warnings: readonly string[];
}

export type PolicySource =
  | { readonly preset: PresetName }
  | { readonly yaml: string; readonly origin?: string }
  /** An already parsed document, e.g. the `policy:` section of airlock.yaml. */
  | { readonly document: unknown; readonly origin?: string };

function zodIssues(error: z.ZodError): PolicyIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }));
}

const documentShell = policySchema.extend({ rules: z.array(z.unknown()).default([]) });

/**
 * Validates the document, each rule on its own so that one bad rule does not hide the problems of
 * the others: every bad key and every wrong example is reported together.
 */
function parseDocument(yaml: string, origin: string): PolicyDocument {
  let raw: unknown;
  try {
    raw = parseYaml(yaml);
  } catch (error) {
    if (error instanceof YAMLParseError)
      throw new PolicyLoadError(origin, [{ path: '', message: error.message }]);
    throw error;
  }
  return validateDocument(raw, origin);
}

function validateDocument(raw: unknown, origin: string): PolicyDocument {
  const issues: PolicyIssue[] = [];
  const top = documentShell.safeParse(raw ?? {});
  if (!top.success) issues.push(...zodIssues(top.error));
  const rawRules =
    typeof raw === 'object' && raw !== null && Array.isArray((raw as { rules?: unknown }).rules)
      ? (raw as { rules: unknown[] }).rules
      : [];
  const rules: Rule[] = [];
  const indices: number[] = [];
  rawRules.forEach((input, index) => {
    const rule = ruleSchema.safeParse(input);
    if (rule.success) {
      rules.push(rule.data);
      indices.push(index);
    } else
      issues.push(
        ...zodIssues(rule.error).map((i) => ({
          ...i,
          path: ['rules', index, i.path].filter((p) => p !== '').join('.'),
        })),
      );
  });
  if (issues.length > 0 || !top.success) {
    // Still check the examples of the rules that are valid, so the report is complete.
    const compiled = rules.map((rule, index) => compileRule(rule, indices[index] ?? index, ''));
    checkExamples(rules, compiled, issues, indices);
    throw new PolicyLoadError(origin, issues);
  }
  if (!top.success) throw new PolicyLoadError(origin, issues);
  return { ...top.data, rules };
}

function compileRule(rule: Rule, index: number, prefix: string): CompiledRule {
  const targets = rule.paths ?? rule.hosts ?? rule.names;
  return Object.freeze({
    id: rule.id ?? `${prefix}rule-${index + 1}`,
    decision: rule.decision,
    reason: rule.reason,
    prefixes: rule.match ? compilePrefixes(rule.match) : null,
    kinds: rule.effect ? new Set(rule.effect) : null,
    targets: targets ? compileGlobs(rule.hosts ? targets.map((h) => h.toLowerCase()) : targets) : null,
    places: rule.paths ? compileGlobs(rule.paths.filter((p) => !p.startsWith('**/'))) : null,
    except: compileGlobs(rule.except ?? []),
    langs: rule.langs ? compileGlobs(rule.langs) : null,
    via: rule.via ? new Set(rule.via) : null,
    where: rule.where ? Object.freeze([...rule.where]) : null,
  });
}

const EXAMPLE_CAPABILITIES = compileCapabilities(DEFAULT_CAPABILITIES);

/** Does the rule certainly match some effect of this command? (What `examples` assert.) */
export function ruleMatchesCommand(rule: CompiledRule, command: string): boolean {
  // Judged like evaluation judges it, in today's default sandbox, so an example says what the rule does there.
  const analysis = analyzeShell(command, { workspaceRoot: SANDBOX_WORKSPACE });
  return analysis.commands.some((c) =>
    c.effects.some((e) => matchRule(rule, e, EXAMPLE_CAPABILITIES) === 'yes'),
  );
}

function checkExamples(
  rules: readonly Rule[],
  compiled: readonly CompiledRule[],
  issues: PolicyIssue[],
  indices?: readonly number[],
): void {
  rules.forEach((rule, position) => {
    const index = indices?.[position] ?? position;
    const target = compiled[position] as CompiledRule;
    for (const example of rule.examples?.match ?? []) {
      if (!ruleMatchesCommand(target, example)) {
        issues.push({
          path: `rules.${index}.examples.match`,
          message: `rule ${target.id} does not match ${JSON.stringify(example)}`,
        });
      }
    }
    for (const example of rule.examples?.not_match ?? []) {
      if (ruleMatchesCommand(target, example)) {
        issues.push({
          path: `rules.${index}.examples.not_match`,
          message: `rule ${target.id} matches ${JSON.stringify(example)}`,
        });
      }
    }
  });
}

function compileDocument(
  document: PolicyDocument,
  origin: string,
  idPrefix: string,
  issues: PolicyIssue[],
): CompiledRule[] {
  const compiled = document.rules.map((rule, index) => compileRule(rule, index, idPrefix));
  const seen = new Map<string, number>();
  compiled.forEach((rule, index) => {
    const first = seen.get(rule.id);
    if (first !== undefined)
      issues.push({ path: `rules.${index}.id`, message: `duplicate id ${rule.id} (also rules.${first})` });
    else seen.set(rule.id, index);
  });
  checkExamples(document.rules, compiled, issues);
  return compiled;
}

const PERMISSIVE_WARNING =
  'the permissive policy allows every command, including ones it cannot judge; use it only to test the sandbox alone';

/**
 * Loads a policy from a preset name or YAML text (reading files is the caller's job). Validates
 * every key, compiles every glob and checks every example; throws PolicyLoadError listing all problems.
 */
export function loadPolicy(source: PolicySource): Policy {
  if ('preset' in source) return loadPreset(source.preset);
  const origin = source.origin ?? 'policy';
  const document =
    'yaml' in source ? parseDocument(source.yaml, origin) : validateDocument(source.document, origin);
  const issues: PolicyIssue[] = [];
  const rules = compileDocument(document, origin, '', issues);
  if (issues.length > 0) throw new PolicyLoadError(origin, issues);
  const base = document.preset ? loadPreset(document.preset) : null;
  const ids = new Set(base?.rules.map((r) => r.id));
  const clashes = rules.filter((r) => ids.has(r.id)).map((r) => r.id);
  if (clashes.length > 0) {
    throw new PolicyLoadError(
      origin,
      clashes.map((id) => ({
        path: 'rules',
        message: `id ${id} is already used by preset ${document.preset ?? ''}`,
      })),
    );
  }
  const dangerouslyAllowUnjudged =
    document.dangerouslyAllowUnjudged || (base?.dangerouslyAllowUnjudged ?? false);
  return Object.freeze({
    origin,
    default: document.default ?? base?.default ?? 'ask',
    dangerouslyAllowUnjudged,
    rules: Object.freeze([...(base?.rules ?? []), ...rules]),
    byKind: indexRules([...(base?.rules ?? []), ...rules]),
    warnings: Object.freeze([
      ...(base?.warnings ?? []),
      ...(document.dangerouslyAllowUnjudged
        ? ['dangerouslyAllowUnjudged lets unparsed and unseen code through']
        : []),
    ]),
  });
}

const EFFECT_KINDS: readonly EffectKind[] = [
  'exec',
  'read',
  'write',
  'delete',
  'net',
  'env-change',
  'env-read',
  'state-change',
  'code',
  'hazard',
];

/** Indexes rules by the effect kinds they can match (see Policy.byKind). */
export function indexRules(rules: readonly CompiledRule[]): ReadonlyMap<EffectKind, readonly CompiledRule[]> {
  const index = new Map<EffectKind, CompiledRule[]>();
  for (const kind of EFFECT_KINDS) {
    index.set(
      kind,
      rules.filter((r) => (r.prefixes !== null ? kind === 'exec' : (r.kinds?.has(kind) ?? false))),
    );
  }
  return index;
}

function loadPreset(name: PresetName): Policy {
  const origin = `preset:${name}`;
  const document = parseDocument(PRESETS[name], origin);
  const issues: PolicyIssue[] = [];
  const rules = compileDocument(document, origin, `${name}.`, issues);
  if (issues.length > 0) throw new PolicyLoadError(origin, issues);
  return Object.freeze({
    origin,
    default: document.default ?? 'ask',
    dangerouslyAllowUnjudged: document.dangerouslyAllowUnjudged,
    rules: Object.freeze(rules),
    byKind: indexRules(rules),
    warnings: Object.freeze(name === 'permissive' ? [PERMISSIVE_WARNING] : []),
  });
}
