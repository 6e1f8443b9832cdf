/**
 * A session's own `network` and `secrets` (POST /v1/sessions, `sessions.create`, a live change): the
 * same shapes as airlock.yaml's `sandbox.network` and `sandbox.secrets`, parsed by the same rules, bad
 * input refused with every problem listed (INVALID_ARGUMENT). Whether they stay within the server's
 * configuration is the caller's next check.
 */
import { z } from 'zod';
import { AirlockError } from '../errors/index.ts';
import { parseAllowEntry } from '../egress/index.ts';
import { envNameProblem } from './fields.ts';
import { flattenIssues, formatPath } from './issues.ts';
import { networkSchema, type NetworkConfig } from './network-schema.ts';
import { section, text } from './schema-parts.ts';
import { describeValue } from './units.ts';

function refuse(what: string, error: z.ZodError): never {
  const problems = flattenIssues(error.issues).map(({ segments, message }) => {
    const path = formatPath(segments);
    return path === '' ? message : `${path}: ${message}`;
  });
  throw new AirlockError('INVALID_ARGUMENT', `invalid ${what}:\n  ${problems.join('\n  ')}`, {
    field: what,
    problems,
  });
}

export function parseNetworkInput(value: unknown): NetworkConfig {
  const parsed = networkSchema.safeParse(value);
  return parsed.success ? parsed.data : refuse('network', parsed.error);
}

/** One of the configuration's secrets, asked for by name; `hosts` narrows where it may go. */
export interface SecretRequest {
  readonly name: string;
  readonly hosts?: readonly string[];
  readonly fromEnv?: string;
  readonly value?: string;
}

const envName = text('name').superRefine((name, ctx) => {
  const problem = envNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
});

const secretRequestSchema = z
  .array(
    section('a secret', {
      name: envName,
      hosts: z
        .array(
          text('a host').transform((host, ctx) => {
            const parsed = parseAllowEntry(host);
            if (parsed.ok && !('registry' in parsed.value)) return host.toLowerCase();
            ctx.addIssue({
              code: 'custom',
              message: parsed.ok
                ? `${host}: a secret goes to named hosts, not a registry alias`
                : parsed.problem,
            });
            return z.NEVER;
          }),
        )
        .optional(),
      fromEnv: text('fromEnv').optional(),
      value: text('value').optional(),
    }),
    { error: (issue) => `secrets must be a list of { name, hosts }, not ${describeValue(issue.input)}` },
  )
  .max(100);

export function parseSecretsInput(value: unknown): SecretRequest[] {
  const parsed = secretRequestSchema.safeParse(value);
  if (!parsed.success) return refuse('secrets', parsed.error);
  return parsed.data.map((entry) => ({
    name: entry.name,
    ...(entry.hosts === undefined ? {} : { hosts: entry.hosts }),
    ...(entry.fromEnv === undefined ? {} : { fromEnv: entry.fromEnv }),
    ...(entry.value === undefined ? {} : { value: entry.value }),
  }));
}
