/**
 * The policy stage: rules and presets over the shell stage's effects. Pure: no I/O, no clock.
 * `loadPolicy` validates and compiles (throws PolicyLoadError listing every problem);
 * `evaluatePolicy` / `engine.evaluate` are synchronous.
 */
export { loadPolicy, ruleMatchesCommand } from './compile.ts';
export type { Policy, PolicySource } from './compile.ts';
export { createPolicyEngine } from './engine.ts';
export type { PolicyEngine, PolicyEngineOptions } from './engine.ts';
export { PolicyLoadError } from './errors.ts';
export type { PolicyIssue } from './errors.ts';
export { evaluatePolicy, stricter, summarize } from './evaluate.ts';
export type { CommandVerdict, Decision, EffectVerdict, EvaluateOptions } from './evaluate.ts';
export { renderDecision } from './render.ts';
export { policyDocumentKeys, policySchema as policyDocumentSchema, presetNameSchema } from './schema.ts';
export type { DecisionValue, PolicyDocument, PolicyInput, PresetName } from './schema.ts';
