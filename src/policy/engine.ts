import { createCrossCheck, type CrossCheck, type CrossCheckOptions } from '../shell/index.ts';
import { compileApprovalGate, type ApprovalGate } from './approval-gate.ts';
import {
  compileCapabilities,
  DEFAULT_CAPABILITIES,
  type CompiledCapabilities,
  type SessionCapabilities,
} from './capabilities.ts';
import { loadPolicy, type Policy, type PolicySource } from './compile.ts';
import { evaluateFileAccess, evaluatePolicy, type Decision, type FileAccess } from './evaluate.ts';

export interface PolicyEngineOptions {
  readonly policy: Policy | PolicySource;
  /**
   * tree-sitter-bash grammar bytes (and optionally the web-tree-sitter runtime bytes) for the
   * cross-check; without them only unbash judges. Reading the files is the caller's job.
   */
  readonly treeSitter?: CrossCheckOptions;
  /** The directory commands start in; `null` judges absolute paths as written. Default: the capabilities' workspace. */
  readonly workspaceRoot?: string | null;
  /** `router.approvalRequiredFor`: compiled now (a bad entry throws PolicyLoadError), checked on every decision. */
  readonly approvalRequiredFor?: readonly string[];
}

export interface EvaluateCallOptions {
  /** The session's sandbox; default: today's (no network, /workspace and /tmp writable). */
  readonly capabilities?: SessionCapabilities;
}

export interface PolicyEngine {
  readonly policy: Policy;
  readonly crossCheck: boolean;
  /** The compiled `approvalRequiredFor`, or null when the engine was made without it. */
  readonly approvalGate: ApprovalGate | null;
  /** Synchronous and pure once the engine exists. */
  evaluate(command: string, options?: EvaluateCallOptions): Decision;
  /** A file tool's access to one path, judged by the same path rules as the shell's. */
  evaluateFileAccess(access: FileAccess, path: string, options?: EvaluateCallOptions): Decision;
}

function isPolicy(value: Policy | PolicySource): value is Policy {
  return 'rules' in value && 'origin' in value;
}

/** Loads the policy (if given as a source) and initialises the tree-sitter cross-check (async wasm). */
export async function createPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const policy = isPolicy(options.policy) ? options.policy : loadPolicy(options.policy);
  const approvalGate = options.approvalRequiredFor ? compileApprovalGate(options.approvalRequiredFor) : null;
  const crossCheck: CrossCheck | undefined = options.treeSitter
    ? await createCrossCheck(options.treeSitter)
    : undefined;
  // Capabilities are compiled once per session value; the cache lives in this engine, not the module.
  const compiled = new WeakMap<SessionCapabilities, CompiledCapabilities>();
  const compiledFor = (capabilities: SessionCapabilities): CompiledCapabilities => {
    let entry = compiled.get(capabilities);
    if (entry === undefined) {
      entry = compileCapabilities(capabilities);
      compiled.set(capabilities, entry);
    }
    return entry;
  };
  return Object.freeze({
    policy,
    crossCheck: crossCheck !== undefined,
    approvalGate,
    evaluate: (command: string, call: EvaluateCallOptions = {}) =>
      evaluatePolicy(policy, command, {
        crossCheck,
        workspaceRoot: options.workspaceRoot,
        capabilities: compiledFor(call.capabilities ?? DEFAULT_CAPABILITIES),
        approvalGate: approvalGate ?? undefined,
      }),
    evaluateFileAccess: (access: FileAccess, path: string, call: EvaluateCallOptions = {}) =>
      evaluateFileAccess(policy, access, path, {
        workspaceRoot: options.workspaceRoot,
        capabilities: compiledFor(call.capabilities ?? DEFAULT_CAPABILITIES),
      }),
  });
}
