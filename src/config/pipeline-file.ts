/**
 * The pipeline file of the design Airlock implements — `pipeline.inference {model, max_tokens,
 * system_prompt}`, `command_router {validator, approval_required_for}`, `sandbox_executor {runtime,
 * timeout, output_truncation}` — mapped onto Airlock's own configuration. Every value goes through the
 * same checks as airlock.yaml; anything Airlock cannot honour (an unknown key, a runtime it has no
 * driver for, a validator that is not its policy engine) is refused with what it can do instead,
 * never ignored.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { AirlockError } from '../errors/index.ts';
import { flattenIssues, formatPath } from './issues.ts';
import { MAX_ALIAS_COUNT, MAX_CONFIG_BYTES, parseConfigObject } from './load.ts';
import { mergeSandboxOverrides } from './overrides.ts';
import type { AirlockConfig } from './schema.ts';
import { presetNames } from './schema.ts';
import { freezeValidated } from './validated.ts';

const scalar = z.union([z.string(), z.number()], { error: 'must be text or a number' });

const pipelineSchema = z
  .object({
    pipeline: z
      .object({
        inference: z
          .object({
            model: z.string().optional(),
            max_tokens: scalar.optional(),
            system_prompt: z.string().optional(),
          })
          .strict()
          .optional(),
        command_router: z
          .object({
            validator: z.string().optional(),
            approval_required_for: z.array(z.string()).optional(),
          })
          .strict()
          .optional(),
        sandbox_executor: z
          .object({
            runtime: z.string().optional(),
            timeout: scalar.optional(),
            output_truncation: scalar.optional(),
          })
          .strict()
          .optional(),
      })
      .strict(),
  })
  .strict();

export type PipelineFile = z.output<typeof pipelineSchema>;

/** What the pipeline file says beyond airlock.yaml. */
export interface AppliedPipeline {
  readonly config: AirlockConfig;
  /** `--policy`'s value for the validator, when it names one. */
  readonly policy: string | undefined;
  /** The inference section, as a run's options. */
  readonly agent: { readonly model?: string; readonly maxTokens?: number; readonly systemPrompt?: string };
}

/** The design's runtimes, by Airlock's driver for them. */
const runtimes: Readonly<Record<string, 'bwrap' | 'gvisor' | 'docker'>> = {
  bwrap: 'bwrap',
  bubblewrap: 'bwrap',
  gvisor: 'gvisor',
  runsc: 'gvisor',
  docker: 'docker',
  container: 'docker',
  runc: 'docker',
};

/** Validators that mean "Airlock's own policy engine, as configured". */
const builtinValidators = new Set(['airlock', 'policy', 'default', 'shell-ast', 'shell_ast', 'ast']);

function refuse(origin: string, problems: readonly string[]): never {
  throw new AirlockError(
    'INVALID_CONFIG',
    `${origin} cannot be honoured (${problems.length === 1 ? '1 problem' : `${problems.length} problems`}):\n${problems.map((line) => `  ${origin}: ${line}`).join('\n')}`,
    { origin, issues: problems },
  );
}

export async function readPipelineFile(
  path: string,
  origin: string,
): Promise<PipelineFile & { origin: string }> {
  let text: string;
  try {
    if ((await stat(path)).size > MAX_CONFIG_BYTES) refuse(origin, [`larger than ${MAX_CONFIG_BYTES} bytes`]);
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof AirlockError) throw error;
    throw new AirlockError(
      'INVALID_CONFIG',
      `pipeline file ${origin} cannot be read: ${(error as Error).message}`,
      {
        origin,
      },
    );
  }
  let data: unknown;
  try {
    data = parse(text, { maxAliasCount: MAX_ALIAS_COUNT, uniqueKeys: true });
  } catch (error) {
    refuse(origin, [`not valid YAML: ${(error as Error).message}`]);
  }
  const result = pipelineSchema.safeParse(data);
  if (!result.success) {
    refuse(
      origin,
      flattenIssues(result.error.issues).map(({ segments, message }) =>
        message.startsWith('Unrecognized key') || /unknown key/i.test(message)
          ? `${formatPath(segments)}: Airlock has nothing that honours this key`
          : `${formatPath(segments)}: ${message}`,
      ),
    );
  }
  return { ...result.data, origin };
}

function validatorPolicy(validator: string | undefined, problems: string[]): string | undefined {
  if (validator === undefined || builtinValidators.has(validator)) return undefined;
  if ((presetNames as readonly string[]).includes(validator)) return validator;
  if (/\.ya?ml$/.test(validator)) return validator;
  problems.push(
    `pipeline.command_router.validator: ${JSON.stringify(validator)} is not a validator Airlock has: its validator ` +
      `is its policy engine; name a preset (${presetNames.join(', ')}) or a policy file (.yaml)`,
  );
  return undefined;
}

export function applyPipelineFile(
  config: AirlockConfig,
  file: PipelineFile & { origin: string },
): AppliedPipeline {
  const { inference, command_router: router, sandbox_executor: executor } = file.pipeline;
  const problems: string[] = [];
  const driver = executor?.runtime === undefined ? undefined : runtimes[executor.runtime.toLowerCase()];
  if (executor?.runtime !== undefined && driver === undefined) {
    problems.push(
      `pipeline.sandbox_executor.runtime: ${JSON.stringify(executor.runtime)} is not a runtime Airlock has a driver for: ` +
        `use bwrap, gvisor (runsc) or docker`,
    );
  }
  const policy = validatorPolicy(router?.validator, problems);
  if (problems.length > 0) refuse(file.origin, problems);
  // The values, checked by the airlock.yaml schema itself (so they read and fail the same way).
  const overlay = {
    sandbox: executor?.timeout === undefined ? {} : { timeout: executor.timeout },
    router: {
      ...(router?.approval_required_for === undefined
        ? {}
        : { approvalRequiredFor: router.approval_required_for }),
      ...(executor?.output_truncation === undefined
        ? {}
        : { output: { maxChars: executor.output_truncation } }),
    },
    agent: {
      ...(inference?.model === undefined ? {} : { model: inference.model }),
      ...(inference?.max_tokens === undefined ? {} : { maxTokens: inference.max_tokens }),
      ...(inference?.system_prompt === undefined ? {} : { systemPrompt: inference.system_prompt }),
    },
  };
  const checked = parseConfigObject(overlay, `${file.origin} (as airlock.yaml)`);
  const sandboxed = mergeSandboxOverrides(config, {
    ...(driver === undefined ? {} : { driver }),
    ...(executor?.timeout === undefined ? {} : { timeout: String(executor.timeout) }),
  });
  const merged = freezeValidated({
    ...sandboxed,
    router: {
      ...sandboxed.router,
      ...(router?.approval_required_for === undefined
        ? {}
        : { approvalRequiredFor: checked.router.approvalRequiredFor }),
      ...(executor?.output_truncation === undefined ? {} : { output: checked.router.output }),
    },
  });
  return {
    config: merged,
    policy,
    agent: {
      ...(checked.agent.model === undefined ? {} : { model: checked.agent.model }),
      ...(inference?.max_tokens === undefined ? {} : { maxTokens: checked.agent.maxTokens }),
      ...(checked.agent.systemPrompt === undefined ? {} : { systemPrompt: checked.agent.systemPrompt }),
    },
  };
}
