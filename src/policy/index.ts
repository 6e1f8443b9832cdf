/**
 * The policy stage: rules and presets over the shell stage's effects. Pure: no I/O, no clock.
 * `loadPolicy` validates and compiles (throws PolicyLoadError listing every problem);
 * `evaluatePolicy` / `engine.evaluate` are synchronous.
 */
export { loadPolicy, ruleMatchesCommand } from './compile.ts';
export type { Policy, PolicySource } from './compile.ts';
export { createPolicyEngine } from './engine.ts';
export type { EvaluateCallOptions, PolicyEngine, PolicyEngineOptions } from './engine.ts';
export { compileApprovalGate, WRITE_FILE_ENTRY } from './approval-gate.ts';
export type { ApprovalGate, ApprovalGateEntry, ApprovalRequirement } from './approval-gate.ts';
export { compileCapabilities, DEFAULT_CAPABILITIES, isLoopback } from './capabilities.ts';
export type { CompiledCapabilities, SessionCapabilities } from './capabilities.ts';
export { SECRET_PATH_PATTERNS, INHERITED_PATH_PATTERNS, isSecretPath } from './protected-paths.ts';
export { PolicyLoadError } from './errors.ts';
export type { PolicyIssue } from './errors.ts';
export { evaluateFileAccess, evaluatePolicy } from './evaluate.ts';
export type { Decision, EvaluateOptions, FileAccess } from './evaluate.ts';
export { stricter, summarize } from './judge.ts';
export type { CommandVerdict, EffectVerdict } from './judge.ts';
export { renderDecision } from './render.ts';
export { policyDocumentKeys, policySchema as policyDocumentSchema, presetNameSchema } from './schema.ts';
export type { DecisionValue, PolicyDocument, PolicyInput, PresetName } from './schema.ts';
