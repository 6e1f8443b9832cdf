/**
 * The secret values every output is redacted of: those named by `router.secretEnv` in the host
 * environment, read once at start-up, plus each session's own `secretEnv`.
 */
import type { AirlockConfig, EnvironmentVariables } from '../config/index.ts';
import { createRedactor } from '../router/index.ts';
import type { Redactor } from '../router/index.ts';
import type { LiveSession } from '../sessions/index.ts';

export interface Redactors {
  redactorFor(session: LiveSession): Redactor;
  /** Refuses secret values that cannot be redacted safely, before a sandbox is made for them. */
  checkSecrets(secretEnv: Readonly<Record<string, string>> | undefined): void;
}

export function createRedactors(config: AirlockConfig, env: EnvironmentVariables): Redactors {
  // A listed variable that is unset is no error (nothing to hide), but a value too short to redact
  // safely is: createRedactor refuses it here, at start-up.
  const hostSecrets = config.router.secretEnv.flatMap((name) => {
    const value = env[name];
    return value === undefined || value === '' ? [] : [{ name, value }];
  });
  createRedactor({ secrets: hostSecrets });
  const redactors = new WeakMap<LiveSession, Redactor>();
  return {
    redactorFor(session) {
      let redactor = redactors.get(session);
      if (redactor === undefined) {
        redactor = createRedactor({ secrets: [...hostSecrets, ...session.secrets] });
        redactors.set(session, redactor);
      }
      return redactor;
    },
    checkSecrets(secretEnv) {
      const own = Object.entries(secretEnv ?? {}).map(([name, value]) => ({ name, value }));
      createRedactor({ secrets: [...hostSecrets, ...own] });
    },
  };
}
