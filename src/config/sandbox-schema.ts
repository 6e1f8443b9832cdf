/**
 * `sandbox`: what each session's sandbox is made of (driver, image, limits, network, secrets, env, uids),
 * with the cross-field checks a single key cannot make.
 */
import { z } from 'zod';
import { DEFAULT_UID_RANGE, formatUidRange, parseUidRange } from '../sandbox/index.ts';
import type { UidRange } from '../sandbox/index.ts';
import {
  cgroupParentProblem,
  driverNames,
  envNameProblem,
  envValueProblem,
  imageProblem,
  sandboxValueParsers,
} from './fields.ts';
import { networkSchema, secretsSchema } from './network-schema.ts';
import { isPlainRecord, nullAsAbsent, oneOf, parsedValue, section, text } from './schema-parts.ts';
import { describeValue, formatDuration } from './units.ts';

/**
 * Hand-rolled rather than z.record so every bad entry is reported in one pass and a `__proto__` name is
 * refused (z.record drops it silently). The result has no prototype, so `env.toString` is never a variable.
 */
const envSchema = z.unknown().transform((value, ctx) => {
  if (!isPlainRecord(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `env must be a mapping of NAME: value, not ${describeValue(value)}`,
    });
    return z.NEVER;
  }
  const env = Object.create(null) as Record<string, string>;
  for (const [name, entry] of Object.entries(value)) {
    const problem =
      envNameProblem(name) ??
      (typeof entry === 'string'
        ? envValueProblem(name, entry)
        : `${describeValue(entry)} is not text: quote it in YAML, like PORT: "8080", so it reaches the sandbox exactly as written`);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, path: [name] });
    else env[name] = entry as string;
  }
  return env;
});

export const sandboxFields = {
  driver: oneOf(driverNames, 'sandbox driver').default('bwrap'),
  image: text('image').default('host'),
  memory: parsedValue(sandboxValueParsers.memory).prefault('512m'),
  cpus: parsedValue(sandboxValueParsers.cpus).prefault(0.5),
  pids: parsedValue(sandboxValueParsers.pids).prefault(256),
  scratch: parsedValue(sandboxValueParsers.scratch).prefault('100m'),
  network: nullAsAbsent(networkSchema.prefault({})),
  secrets: nullAsAbsent(secretsSchema.prefault([])),
  timeout: parsedValue(sandboxValueParsers.timeout).prefault('30s'),
  idleTimeout: parsedValue(sandboxValueParsers.idleTimeout).prefault('15m'),
  env: envSchema.prefault({ LANG: 'C.UTF-8' }),
  cgroupParent: text('cgroupParent')
    .superRefine((path, ctx) => {
      const problem = cgroupParentProblem(path);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  maxTimeout: parsedValue(sandboxValueParsers.maxTimeout).optional(),
  /** docker only: the OCI runtime containers run under; runsc puts each in a gVisor sandbox. */
  runtime: oneOf(['runc', 'runsc'] as const, 'Docker runtime').optional(),
  /**
   * Host uids sessions run as, one each: `FIRST-LAST`, above every account's uid. Whether the host
   * has accounts, groups or subordinate ids in it is checked when the first session starts.
   */
  uidRange: text('uidRange')
    .transform((value, ctx): UidRange => {
      const parsed = parseUidRange(value);
      if (typeof parsed !== 'string') return parsed;
      ctx.addIssue({ code: 'custom', message: parsed });
      return z.NEVER;
    })
    .prefault(formatUidRange(DEFAULT_UID_RANGE)),
  /**
   * A tree copied in that holds a file looking like a secret (.env, keys, credentials) is refused
   * whole, rather than copied with its values registered for redaction.
   */
  refuseSecretsInWorkspace: z
    .boolean({ error: 'refuseSecretsInWorkspace must be true or false' })
    .prefault(false),
};

export const sandboxSchema = section('sandbox', sandboxFields).transform((raw, ctx) => {
  const imageIssue = imageProblem(raw.image, raw.driver);
  if (imageIssue !== undefined) ctx.addIssue({ code: 'custom', message: imageIssue, path: ['image'] });
  if (raw.runtime !== undefined && raw.driver !== 'docker') {
    ctx.addIssue({
      code: 'custom',
      message: `runtime applies to the docker driver only, not ${raw.driver}: remove it or set driver: docker`,
      path: ['runtime'],
    });
  }
  if (raw.maxTimeout !== undefined && raw.timeout > raw.maxTimeout) {
    ctx.addIssue({
      code: 'custom',
      message: `timeout ${formatDuration(raw.timeout)} is longer than maxTimeout ${formatDuration(raw.maxTimeout)}`,
      path: ['timeout'],
    });
  }
  return {
    driver: raw.driver,
    image: raw.image,
    memoryBytes: raw.memory,
    cpus: raw.cpus,
    pids: raw.pids,
    scratchBytes: raw.scratch,
    network: raw.network,
    secrets: raw.secrets,
    timeoutMs: raw.timeout,
    idleTimeoutMs: raw.idleTimeout,
    env: raw.env,
    uidRange: raw.uidRange,
    refuseSecretsInWorkspace: raw.refuseSecretsInWorkspace,
    ...(raw.cgroupParent === undefined ? {} : { cgroupParent: raw.cgroupParent }),
    ...(raw.maxTimeout === undefined ? {} : { maxTimeoutMs: raw.maxTimeout }),
    ...(raw.runtime === undefined ? {} : { runtime: raw.runtime }),
  };
});
