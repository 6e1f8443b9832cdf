/**
 * Secret values for a session, from the configuration's sources: a variable of the Airlock process
 * (`fromEnv`) or a literal `value`. Read only here, since process variables are read only in src/config;
 * a missing or empty variable stops the session with every such secret named, never a silent empty value.
 */
import { AirlockError } from '../errors/index.ts';
import type { EnvironmentVariables } from './environment.ts';
import type { SecretConfig } from './schema.ts';

export interface ResolvedSecret {
  readonly name: string;
  readonly value: string;
  readonly hosts: readonly string[];
}

export function resolveSecrets(
  secrets: readonly SecretConfig[],
  env: EnvironmentVariables,
): ResolvedSecret[] {
  const missing: string[] = [];
  const resolved = secrets.map((secret) => {
    const value = 'value' in secret.source ? secret.source.value : env[secret.source.fromEnv];
    if (value === undefined || value === '') {
      missing.push(
        `${secret.name}: the variable ${'fromEnv' in secret.source ? secret.source.fromEnv : ''} is not set in Airlock's environment`,
      );
    }
    return { name: secret.name, value: value ?? '', hosts: secret.hosts };
  });
  if (missing.length > 0) {
    throw new AirlockError('INVALID_CONFIG', `secrets without a value:\n  ${missing.join('\n  ')}`, {
      issues: missing,
    });
  }
  return resolved;
}
