/**
 * What `airlock agent run` starts from: airlock.yaml (and a pipeline file over it), the policy, the
 * run's options from the flags. Every bad flag is reported before anything is started.
 */
import { resolve } from 'node:path';
import type { AgentRunOptions } from '../agent/index.ts';
import type { CreateAirlockOptions } from '../airlock/index.ts';
import { applyPipelineFile, parseCount, readPipelineFile, resolveConfig } from '../config/index.ts';
import type { AirlockConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { PolicyLoadError } from '../policy/index.ts';
import type { Policy } from '../policy/index.ts';
import type { CliContext } from './context.ts';
import { choosePolicy, policyLoadFailure } from './policy-source.ts';

export interface AgentFlags {
  model?: string;
  baseUrl?: string;
  policy?: string;
  workspace?: string;
  writeBack?: boolean;
  maxSteps?: string;
  budgetTokens?: string;
  contextTokens?: string;
  pipeline?: string;
  recordPrompts?: boolean;
  json?: boolean;
  config?: string;
}

export interface AgentSetup {
  readonly airlock: CreateAirlockOptions;
  /** The run's options, less the signal (the command's own). */
  readonly run: AgentRunOptions;
}

function countFlag(flag: string, value: string | undefined): number | undefined {
  return value === undefined ? undefined : parseCount(value, { label: flag });
}

async function policyOf(
  spec: string | undefined,
  context: CliContext,
  config: AirlockConfig,
  path: string | undefined,
): Promise<Policy> {
  try {
    return await choosePolicy(spec, context.cwd, config, path);
  } catch (error) {
    if (error instanceof PolicyLoadError) throw policyLoadFailure(error);
    throw error;
  }
}

export async function loadAgentSetup(
  task: string,
  flags: AgentFlags,
  context: CliContext,
): Promise<AgentSetup> {
  if (flags.writeBack === true && flags.workspace === undefined) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      '--write-back needs --workspace DIR: the directory to write back to',
      {
        field: '--write-back',
      },
    );
  }
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  let config = resolved.config;
  let pipelinePolicy: string | undefined;
  let pipelineRun: Partial<AgentRunOptions> = {};
  if (flags.pipeline !== undefined) {
    const pipeline = await readPipelineFile(resolve(context.cwd, flags.pipeline), flags.pipeline);
    const applied = applyPipelineFile(config, pipeline);
    config = applied.config;
    pipelinePolicy = applied.policy;
    pipelineRun = applied.agent;
  }
  const policy = await policyOf(flags.policy ?? pipelinePolicy, context, config, resolved.path);
  for (const warning of policy.warnings) context.stderr.warn(warning);
  if (policy.origin === 'preset:permissive') {
    context.stderr.warn(
      '--policy permissive: every command the model proposes runs, contained only by the sandbox',
    );
  }
  if (config.sandbox.network.allow.length > 0 || config.sandbox.secrets.length > 0) {
    context.stderr.warn('sandbox.network allow-lists are not implemented yet; commands run with no network');
  }
  const maxSteps = countFlag('--max-steps', flags.maxSteps);
  const budgetTokens = countFlag('--budget-tokens', flags.budgetTokens);
  const contextTokens = countFlag('--context-tokens', flags.contextTokens);
  const model = flags.model ?? pipelineRun.model;
  const run: AgentRunOptions = {
    ...pipelineRun,
    task,
    ...(model === undefined ? {} : { model }),
    ...(flags.baseUrl === undefined ? {} : { baseUrl: flags.baseUrl }),
    ...(maxSteps === undefined ? {} : { maxSteps }),
    ...(budgetTokens === undefined ? {} : { budgetTokens }),
    ...(contextTokens === undefined ? {} : { contextTokens }),
    ...(flags.recordPrompts === true ? { recordPrompts: true } : {}),
    ...(flags.workspace === undefined
      ? {}
      : { workspace: { dir: resolve(context.cwd, flags.workspace), writeBack: flags.writeBack === true } }),
  };
  return {
    airlock: {
      config,
      policy,
      env: context.env,
      home: resolved.environment.home,
      cwd: context.cwd,
      // One run, one sandbox: a launcher started for a next sandbox would never be used.
      driverOptions: { prespawnLauncher: false },
    },
    run,
  };
}
