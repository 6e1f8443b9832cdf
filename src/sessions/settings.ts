/**
 * A session's settings: what its creator asked for, over what its snapshot had, over the configured
 * defaults — checked before any sandbox is made for them.
 */
import { AirlockError } from '../errors/index.ts';
import { presetNameSchema } from '../policy/index.ts';
import type { PresetName } from '../policy/index.ts';
import { validateSpec } from '../sandbox/index.ts';
import type { SandboxSpec } from '../sandbox/index.ts';
import { SANDBOX_HOME } from './capabilities.ts';
import type { SessionCreateOptions, SessionDefaults, SessionSettings, SnapshotInfo } from './types.ts';

/** Variables a sandbox may be given; more is almost surely a mistake, and each costs every command. */
const MAX_ENV_ENTRIES = 256;

export function settingsFor(
  defaults: SessionDefaults,
  input: SessionCreateOptions,
  snapshot: SnapshotInfo | null,
): SessionSettings {
  const base = snapshot?.settings;
  const secretEnv = input.secretEnv ?? {};
  // HOME in the scratch, unless the configuration or the caller chose one: see SANDBOX_HOME.
  const env = { HOME: SANDBOX_HOME, ...defaults.sandbox.env, ...(input.env ?? {}), ...secretEnv };
  if (Object.keys(env).length > MAX_ENV_ENTRIES) {
    throw new AirlockError('INVALID_ARGUMENT', `at most ${MAX_ENV_ENTRIES} environment variables`, {
      field: 'env',
    });
  }
  const driver = input.driver ?? base?.driver ?? defaults.driver;
  const sandbox: SandboxSpec = validateSpec(
    {
      image: input.image ?? base?.sandbox.image ?? defaults.sandbox.image,
      memoryBytes: input.memoryBytes ?? base?.sandbox.memoryBytes ?? defaults.sandbox.memoryBytes,
      cpus: input.cpus ?? base?.sandbox.cpus ?? defaults.sandbox.cpus,
      pids: input.pids ?? base?.sandbox.pids ?? defaults.sandbox.pids,
      scratchBytes: input.scratchBytes ?? base?.sandbox.scratchBytes ?? defaults.sandbox.scratchBytes,
      env,
      timeoutMs: input.timeoutMs ?? defaults.sandbox.timeoutMs,
    },
    { allowImageReference: driver === 'docker' },
  );
  if (sandbox.timeoutMs > defaults.maxTimeoutMs) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `timeoutMs ${sandbox.timeoutMs} is over the configured maximum of ${defaults.maxTimeoutMs}`,
      { field: 'timeoutMs' },
    );
  }
  return {
    driver,
    sandbox,
    idleTimeoutMs: positiveMs(input.idleTimeoutMs, defaults.idleTimeoutMs, 'idleTimeoutMs'),
    ttlMs: positiveMs(input.ttlMs, defaults.ttlMs, 'ttlMs'),
    maxTimeoutMs: defaults.maxTimeoutMs,
    secretEnvNames: Object.keys(secretEnv),
    fromSnapshot: snapshot?.id ?? null,
    policy: presetOf(input.policy) ?? base?.policy ?? null,
  };
}

/** A session's policy preset as given by a caller: absent, or one of the presets (else INVALID_ARGUMENT). */
export function presetOf(value: unknown): PresetName | undefined {
  if (value === undefined) return undefined;
  const parsed = presetNameSchema.safeParse(value);
  if (!parsed.success) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `policy must be one of ${presetNameSchema.options.join(', ')}`,
      {
        field: 'policy',
      },
    );
  }
  return parsed.data;
}

function positiveMs(value: number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AirlockError('INVALID_ARGUMENT', `${field} must be a positive whole number of milliseconds`, {
      field,
    });
  }
  return value;
}
