/**
 * `airlock exec --allow-host H[:P]... --secret NAME[=ENV]@HOST...`: network grants for one command,
 * layered over the loaded configuration like the other flags. The person at the terminal is the one
 * who could have written them into airlock.yaml; each is parsed by the same rules as the file.
 */
import { AirlockError } from '../errors/index.ts';
import { parseAllowEntry, type AllowEntry } from '../egress/index.ts';
import { envNameProblem } from './fields.ts';
import type { FlagIssue } from './overrides.ts';
import type { AirlockConfig, SecretConfig } from './schema.ts';
import { freezeValidated } from './validated.ts';
import { describeValue } from './units.ts';

export interface NetworkOverrides {
  /** `--allow-host`, repeatable: an allow-list entry (`api.example.test`, `host:8443`, `registry:npm`). */
  readonly allowHosts?: readonly string[] | undefined;
  /** `--secret NAME[=ENV]@HOST`, repeatable: the value of ENV (default NAME) for HOST only. */
  readonly secrets?: readonly string[] | undefined;
  /**
   * Nobody can answer a question here (`airlock exec`): `ask` then works as `allowlist`, refusing a
   * host off the list at once with its reason instead of waiting for an answer that cannot come.
   */
  readonly noApprover?: boolean;
}

const SECRET_FLAG = /^([^=@]+)(?:=([^@]+))?@(.+)$/;

export function mergeNetworkOverrides(config: AirlockConfig, overrides: NetworkOverrides): AirlockConfig {
  const issues: FlagIssue[] = [];
  const allow: AllowEntry[] = [...config.sandbox.network.allow];
  for (const value of overrides.allowHosts ?? []) {
    const parsed = parseAllowEntry(value.toLowerCase());
    if (parsed.ok) allow.push(parsed.value);
    else issues.push({ flag: '--allow-host', value, message: `--allow-host: ${parsed.problem}` });
  }
  const secrets = new Map<string, SecretConfig>(
    config.sandbox.secrets.map((secret) => [secret.name, secret]),
  );
  for (const value of overrides.secrets ?? []) {
    const problem = secretProblem(value);
    if (problem !== undefined) {
      issues.push({ flag: '--secret', value, message: `--secret ${describeValue(value)}: ${problem}` });
      continue;
    }
    const [, name, fromEnv, host] = SECRET_FLAG.exec(value) as unknown as [
      string,
      string,
      string | undefined,
      string,
    ];
    const earlier = secrets.get(name);
    const source = { fromEnv: fromEnv ?? name };
    if (earlier !== undefined && JSON.stringify(earlier.source) !== JSON.stringify(source)) {
      issues.push({ flag: '--secret', value, message: `--secret ${name} is given two different sources` });
      continue;
    }
    const hosts = [...(earlier?.hosts ?? []), host.toLowerCase()];
    secrets.set(name, { name, source, hosts: [...new Set(hosts)] });
  }
  if (issues.length > 0) {
    throw new AirlockError('INVALID_ARGUMENT', issues.map((issue) => issue.message).join('\n'), { issues });
  }
  const granted =
    allow.length > config.sandbox.network.allow.length || secrets.size > config.sandbox.secrets.length;
  let mode = config.sandbox.network.mode;
  // A host granted on the command line means the command should reach it: `none` would refuse it.
  if (mode === 'none' && granted) mode = 'allowlist';
  if (mode === 'ask' && overrides.noApprover === true) mode = 'allowlist';
  return freezeValidated({
    ...config,
    sandbox: {
      ...config.sandbox,
      network: { ...config.sandbox.network, mode, allow },
      secrets: [...secrets.values()],
    },
  });
}

function secretProblem(value: string): string | undefined {
  const match = SECRET_FLAG.exec(value);
  if (match === null) return 'use NAME@HOST or NAME=ENV@HOST, like API_TOKEN@api.example.test';
  const [, name, fromEnv, host] = match as unknown as [string, string, string | undefined, string];
  const nameProblem = envNameProblem(name) ?? (fromEnv === undefined ? undefined : envNameProblem(fromEnv));
  if (nameProblem !== undefined) return nameProblem;
  const parsed = parseAllowEntry(host.toLowerCase());
  if (!parsed.ok) return parsed.problem;
  if ('registry' in parsed.value) return 'a secret goes to named hosts, not a registry alias';
  return undefined;
}
