import { createCrossCheck, type CrossCheck, type CrossCheckOptions } from '../shell/index.ts';
import { loadPolicy, type Policy, type PolicySource } from './compile.ts';
import { evaluatePolicy, type Decision } from './evaluate.ts';

export interface PolicyEngineOptions {
  readonly policy: Policy | PolicySource;
  /**
   * tree-sitter-bash grammar bytes (and optionally the web-tree-sitter runtime bytes) for the
   * cross-check; without them only unbash judges. Reading the files is the caller's job.
   */
  readonly treeSitter?: CrossCheckOptions;
  /** The directory commands start in; `null` judges absolute paths as written. Default /workspace. */
  readonly workspaceRoot?: string | null;
}

export interface PolicyEngine {
  readonly policy: Policy;
  readonly crossCheck: boolean;
  /** Synchronous and pure once the engine exists. */
  evaluate(command: string): Decision;
}

function isPolicy(value: Policy | PolicySource): value is Policy {
  return 'rules' in value && 'origin' in value;
}

/** Loads the policy (if given as a source) and initialises the tree-sitter cross-check (async wasm). */
export async function createPolicyEngine(options: PolicyEngineOptions): Promise<PolicyEngine> {
  const policy = isPolicy(options.policy) ? options.policy : loadPolicy(options.policy);
  const crossCheck: CrossCheck | undefined = options.treeSitter
    ? await createCrossCheck(options.treeSitter)
    : undefined;
  return Object.freeze({
    policy,
    crossCheck: crossCheck !== undefined,
    evaluate: (command: string) =>
      evaluatePolicy(policy, command, { crossCheck, workspaceRoot: options.workspaceRoot }),
  });
}
