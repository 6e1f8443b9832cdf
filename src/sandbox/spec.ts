import { AirlockError } from '../errors/index.ts';
import { validateEgress } from './egress-mount.ts';
import type { SandboxSpec } from './types.ts';

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Grace after a command's timeout before a driver presumes its in-sandbox supervisor hung. */
export const SUPERVISOR_GRACE_MS = 5_000;
/** Node timers fire at once past 2^31-1 ms, and the backstop timer adds the grace on top. */
export const MAX_TIMEOUT_MS = 2_147_483_647 - SUPERVISOR_GRACE_MS;

function positiveInteger(value: number, field: string, example: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `sandbox ${field} must be a positive integer, like ${example}`,
      {
        field,
        value,
      },
    );
  }
}

/** A command timeout: a positive whole number of milliseconds that Node's timers can hold. */
export function validateTimeoutMs(timeoutMs: number): void {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > MAX_TIMEOUT_MS) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `timeoutMs must be a positive integer up to ${MAX_TIMEOUT_MS} (about 24 days), like 30000; got ${timeoutMs}`,
      { field: 'timeoutMs', value: timeoutMs },
    );
  }
}

/** A local Docker image reference (`name[:tag]`, `name@sha256:…`): what the docker driver accepts besides paths. */
const IMAGE_REFERENCE =
  /^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$/;

export function isImageReference(image: string): boolean {
  return image.length <= 512 && IMAGE_REFERENCE.test(image);
}

export interface ValidateSpecOptions {
  /** The docker driver also runs local images by reference (`python:3.12-slim`). */
  readonly allowImageReference?: boolean;
}

/** Checks a spec at the library boundary; the CLI and config parse units before this. */
export function validateSpec(spec: SandboxSpec, options: ValidateSpecOptions = {}): SandboxSpec {
  if (typeof spec.image !== 'string' || spec.image.length === 0) {
    throw new AirlockError('INVALID_ARGUMENT', 'sandbox image must be "host" or a rootfs directory', {
      field: 'image',
    });
  }
  const isReference = options.allowImageReference === true && isImageReference(spec.image);
  if (spec.image !== 'host' && !spec.image.startsWith('/') && !isReference) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      options.allowImageReference === true
        ? `sandbox image ${JSON.stringify(spec.image)} must be "host", an absolute rootfs directory or a Docker image reference like python:3.12-slim`
        : `sandbox image ${JSON.stringify(spec.image)} must be an absolute path or "host"`,
      { field: 'image' },
    );
  }
  positiveInteger(spec.memoryBytes, 'memoryBytes', '268435456 (256 MiB)');
  positiveInteger(spec.pids, 'pids', '128');
  positiveInteger(spec.scratchBytes, 'scratchBytes', '67108864 (64 MiB)');
  validateTimeoutMs(spec.timeoutMs);
  if (!Number.isFinite(spec.cpus) || spec.cpus <= 0) {
    throw new AirlockError('INVALID_ARGUMENT', 'sandbox cpus must be a positive number, like 0.5', {
      field: 'cpus',
      value: spec.cpus,
    });
  }
  validateEnv(spec.env);
  const { egress, ...rest } = spec;
  return Object.freeze({
    ...rest,
    env: Object.freeze({ ...spec.env }),
    ...(egress === undefined ? {} : { egress: validateEgress(egress) }),
  });
}

export function validateEnv(env: Readonly<Record<string, string>>): void {
  for (const [name, value] of Object.entries(env)) {
    if (!envName.test(name)) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `environment variable name ${JSON.stringify(name)} is not valid`,
        {
          field: 'env',
          name,
        },
      );
    }
    if (typeof value !== 'string' || value.includes('\0')) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `environment variable ${name} must be a string without NUL bytes`,
        {
          field: 'env',
          name,
        },
      );
    }
  }
}
