/**
 * The secret values every output is redacted of: those named by `router.secretEnv` in the host
 * environment and the model providers' API keys, read once at start-up, plus each session's own
 * `secretEnv` and the values of secret files copied into it.
 */
import { modelKeySecrets } from '../config/index.ts';
import type { AirlockConfig, EnvironmentVariables } from '../config/index.ts';
import { createRedactor, MIN_SECRET_LENGTH } from '../router/index.ts';
import type { Redactor } from '../router/index.ts';
import type { LiveSession } from '../sessions/index.ts';

export interface Redactors {
  redactorFor(session: LiveSession): Redactor;
  /** The host's secrets alone: for text that belongs to no session (an agent's model calls). */
  readonly host: Redactor;
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
  // A model API key is a secret wherever it shows up. One too short to be a real key (`ollama` for a
  // local server that checks none) is a placeholder: redacting it would shred ordinary output, and
  // refusing to start over it would break every command.
  const modelKeys = modelKeySecrets(env).filter(
    ({ value }) => value.length >= MIN_SECRET_LENGTH && safeToRedact(value),
  );
  hostSecrets.push(...modelKeys);
  const host = createRedactor({ secrets: hostSecrets });
  // A session's file secrets are replaced, never changed in place, when a secret file is copied in:
  // the redactor is rebuilt the first time it is asked for after that.
  const redactors = new WeakMap<
    LiveSession,
    { readonly fileSecrets: LiveSession['fileSecrets']; readonly redactor: Redactor }
  >();
  return {
    host,
    redactorFor(session) {
      const cached = redactors.get(session);
      if (cached !== undefined && cached.fileSecrets === session.fileSecrets) return cached.redactor;
      const redactor = createRedactor({
        secrets: [...hostSecrets, ...session.secrets],
        fileSecrets: session.fileSecrets,
      });
      redactors.set(session, { fileSecrets: session.fileSecrets, redactor });
      return redactor;
    },
    checkSecrets(secretEnv) {
      const own = Object.entries(secretEnv ?? {}).map(([name, value]) => ({ name, value }));
      createRedactor({ secrets: [...hostSecrets, ...own] });
    },
  };
}

/** Whether a value can be redacted at all (createRedactor refuses one inside its own markers). */
function safeToRedact(value: string): boolean {
  try {
    createRedactor({ secrets: [{ name: 'MODEL_KEY', value }] });
    return true;
  } catch {
    return false;
  }
}
