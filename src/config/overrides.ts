/**
 * CLI flags (`airlock exec --memory 256m …`) layered over the loaded config. The flag strings go through
 * the same parsers as airlock.yaml, so a value is refused with the same words, naming the flag.
 */
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { driverNames, envNameProblem, envValueProblem, imageProblem, sandboxValueParsers } from './fields.ts';
import type { DriverName } from './fields.ts';
import { freezeValidated } from './validated.ts';
import type { AirlockConfig, SandboxConfig } from './schema.ts';
import { describeValue, formatDuration } from './units.ts';

/** Raw flag values as the CLI parser hands them over; undefined means the flag was not given. */
export interface SandboxOverrides {
  readonly driver?: string | undefined;
  readonly image?: string | undefined;
  readonly memory?: string | undefined;
  readonly cpus?: string | undefined;
  readonly pids?: string | undefined;
  readonly scratch?: string | undefined;
  readonly timeout?: string | undefined;
  /** `--env NAME=value`, repeatable; added to (and overriding) the config's env. */
  readonly env?: readonly string[] | undefined;
}

export interface FlagIssue {
  readonly flag: string;
  readonly value: string;
  readonly message: string;
}

type NumericKey = 'memory' | 'cpus' | 'pids' | 'scratch' | 'timeout';

const numericFlags = [
  { key: 'memory', flag: '--memory', field: 'memoryBytes' },
  { key: 'cpus', flag: '--cpus', field: 'cpus' },
  { key: 'pids', flag: '--pids', field: 'pids' },
  { key: 'scratch', flag: '--scratch', field: 'scratchBytes' },
  { key: 'timeout', flag: '--timeout', field: 'timeoutMs' },
] as const satisfies readonly { key: NumericKey; flag: string; field: keyof SandboxConfig }[];

/** Returns a new frozen config with the flags applied; throws INVALID_ARGUMENT listing every bad flag. */
export function mergeSandboxOverrides(config: AirlockConfig, overrides: SandboxOverrides): AirlockConfig {
  const issues: FlagIssue[] = [];
  const sandbox: { -readonly [Key in keyof SandboxConfig]: SandboxConfig[Key] } = { ...config.sandbox };

  if (overrides.driver !== undefined) {
    const driver = driverNames.find((name) => name === overrides.driver);
    if (driver === undefined) {
      issues.push({
        flag: '--driver',
        value: overrides.driver,
        message: `--driver ${describeValue(overrides.driver)} is not a sandbox driver: use one of ${driverNames.join(', ')}`,
      });
    } else {
      sandbox.driver = driver satisfies DriverName;
    }
  }
  if (overrides.image !== undefined) sandbox.image = overrides.image;

  for (const { key, flag, field } of numericFlags) {
    const value = overrides[key];
    if (value === undefined) continue;
    try {
      sandbox[field] = sandboxValueParsers[key](value, flag);
    } catch (error) {
      if (!isAirlockError(error)) throw error;
      issues.push({ flag, value, message: error.message });
    }
  }

  if (overrides.env !== undefined && overrides.env.length > 0) {
    const env = Object.assign(Object.create(null) as Record<string, string>, config.sandbox.env);
    for (const assignment of overrides.env) {
      const separator = assignment.indexOf('=');
      if (separator === -1) {
        // `docker run -e NAME` copies the host's value; here that would leak host secrets, so it is refused.
        issues.push({
          flag: '--env',
          value: assignment,
          message: `--env ${describeValue(assignment)} has no value: use --env NAME=value (host variables are never passed through)`,
        });
        continue;
      }
      const name = assignment.slice(0, separator);
      const value = assignment.slice(separator + 1);
      const problem = envNameProblem(name) ?? envValueProblem(name, value);
      if (problem === undefined) env[name] = value;
      else issues.push({ flag: '--env', value: assignment, message: `--env ${problem}` });
    }
    sandbox.env = env;
  }

  const imageIssue = imageProblem(sandbox.image, sandbox.driver);
  if (imageIssue !== undefined)
    issues.push({ flag: '--image', value: sandbox.image, message: `--image: ${imageIssue}` });
  if (
    overrides.timeout !== undefined &&
    sandbox.maxTimeoutMs !== undefined &&
    sandbox.timeoutMs > sandbox.maxTimeoutMs
  ) {
    issues.push({
      flag: '--timeout',
      value: overrides.timeout,
      message: `--timeout ${describeValue(overrides.timeout)} is longer than maxTimeout ${formatDuration(sandbox.maxTimeoutMs)} in the configuration`,
    });
  }

  if (issues.length > 0) {
    throw new AirlockError('INVALID_ARGUMENT', issues.map((issue) => issue.message).join('\n'), { issues });
  }
  return freezeValidated({ ...config, sandbox });
}
