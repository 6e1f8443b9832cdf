import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { loadTreeSitterWasm } from '../airlock/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createPolicyEngine, loadPolicy, PolicyLoadError, presetNameSchema } from '../policy/index.ts';
import type { Policy, PolicyEngine } from '../policy/index.ts';

/** `--policy` is a preset name or a path to a YAML policy file (read here, validated by the policy stage). */
export async function policyFromFlag(spec: string, cwd: string): Promise<Policy> {
  const preset = presetNameSchema.safeParse(spec);
  if (preset.success) return loadPolicy({ preset: preset.data });
  const path = resolve(cwd, spec);
  let yaml: string;
  try {
    yaml = await readFile(path, 'utf8');
  } catch (error) {
    throw new PolicyLoadError(spec, [
      {
        path: '',
        message: `not a preset (readonly, coding-agent, permissive) and not a readable file: ${(error as Error).message}`,
      },
    ]);
  }
  return loadPolicy({ yaml, origin: spec });
}

/**
 * The policy a run uses: `--policy` when given, else the `policy:` section of airlock.yaml (which
 * defaults to the coding-agent preset).
 */
export async function choosePolicy(
  flag: string | undefined,
  cwd: string,
  config: AirlockConfig,
  configPath: string | undefined,
): Promise<Policy> {
  if (flag !== undefined) return policyFromFlag(flag, cwd);
  const origin = configPath === undefined ? `preset:${config.policy.preset}` : `${configPath}: policy`;
  return loadPolicy({ document: config.policy, origin });
}

/** A policy that failed to load, as the one error users and JSON readers see, every issue listed. */
export function policyLoadFailure(error: PolicyLoadError): AirlockError {
  const lines = error.issues.map((issue) => `  - ${issue.path || '(root)'}: ${issue.message}`);
  return new AirlockError('POLICY_INVALID', `invalid policy ${error.origin}:\n${lines.join('\n')}`, {
    origin: error.origin,
    issues: error.issues,
  });
}

export { loadTreeSitterWasm };

export async function policyEngineFor(policy: Policy, crossCheck: boolean): Promise<PolicyEngine> {
  const treeSitter = crossCheck ? await loadTreeSitterWasm() : undefined;
  return createPolicyEngine(treeSitter ? { policy, treeSitter } : { policy });
}
