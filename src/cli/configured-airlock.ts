import { createAirlock } from '../airlock/index.ts';
import type { Airlock, CreateAirlockOptions } from '../airlock/index.ts';
import type { ResolvedConfig } from '../config/index.ts';
import { PolicyLoadError } from '../policy/index.ts';
import type { CliContext } from './context.ts';
import { choosePolicy, policyLoadFailure } from './policy-source.ts';

/**
 * The control plane a long-running command (`serve`, `mcp`) runs: the resolved airlock.yaml, the
 * policy from `--policy` or its `policy:` section, and the warnings a person starting it must see.
 */
export async function createConfiguredAirlock(
  resolved: ResolvedConfig,
  policyFlag: string | undefined,
  context: CliContext,
  extra: Pick<CreateAirlockOptions, 'logger' | 'metrics'>,
): Promise<Airlock> {
  const { config, environment } = resolved;
  let policy;
  try {
    policy = await choosePolicy(policyFlag, context.cwd, config, resolved.path);
  } catch (error) {
    if (error instanceof PolicyLoadError) throw policyLoadFailure(error);
    throw error;
  }
  for (const warning of policy.warnings) context.stderr.warn(warning);
  if (policy.origin === 'preset:permissive') {
    context.stderr.warn('--policy permissive: every command runs, contained only by the sandbox');
  }
  return createAirlock({
    config,
    policy,
    env: context.env,
    home: environment.home,
    cwd: context.cwd,
    ...extra,
  });
}
