/**
 * `sandbox.network` and `sandbox.secrets`: what a sandbox may reach through the egress proxy and which
 * secrets the proxy swaps in for which hosts. Entries are parsed by the egress stage's own parser, so the
 * file and a session's live update accept exactly the same lists.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { NETWORK_MODES, parseAllowEntry, type AllowEntry, type NetworkMode } from '../egress/index.ts';
import { envNameProblem } from './fields.ts';
import { isPlainRecord, oneOf, section, text } from './schema-parts.ts';
import { describeValue } from './units.ts';

export type NetworkConfig = {
  readonly mode: NetworkMode;
  readonly allow: readonly AllowEntry[];
  /** Exact name → fixed IP address, like /etc/hosts; the only way to a private or loopback address. */
  readonly hosts: Readonly<Record<string, string>>;
};

export const networkFields = {
  mode: oneOf(NETWORK_MODES, 'network mode').default('ask'),
  allow: z
    .array(
      text('an allow-list entry').transform((entry, ctx): AllowEntry => {
        const parsed = parseAllowEntry(entry);
        if (parsed.ok) return parsed.value;
        ctx.addIssue({ code: 'custom', message: parsed.problem });
        return z.NEVER;
      }),
      {
        error: (issue) =>
          `allow must be a list of hosts, like [api.example.com, "*.example.org:443", "registry:npm"], not ${describeValue(issue.input)}`,
      },
    )
    .default([]),
  hosts: z
    .unknown()
    .transform((value, ctx) => {
      const hosts = Object.create(null) as Record<string, string>;
      if (!isPlainRecord(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `hosts must be a mapping of name: address, not ${describeValue(value)}`,
        });
        return z.NEVER;
      }
      for (const [name, address] of Object.entries(value)) {
        const entry = parseAllowEntry(name);
        if (
          !entry.ok ||
          'registry' in entry.value ||
          entry.value.host.startsWith('*.') ||
          name.includes(':')
        ) {
          ctx.addIssue({
            code: 'custom',
            message: `${JSON.stringify(name)} is not a host name (hosts maps exact names)`,
            path: [name],
          });
        } else if (typeof address !== 'string' || isIP(address) === 0) {
          ctx.addIssue({
            code: 'custom',
            message: `${describeValue(address)} is not an IP address, like 127.0.0.1 or ::1`,
            path: [name],
          });
        } else {
          hosts[entry.value.host] = address;
        }
      }
      return hosts;
    })
    .prefault({}),
};

/** `API.example.com` and `api.example.com` are one entry (parsing lower-cased both). */
function uniqueEntries(entries: readonly AllowEntry[]): AllowEntry[] {
  const seen = new Map<string, AllowEntry>();
  for (const entry of entries) seen.set(JSON.stringify(entry), entry);
  return [...seen.values()];
}

export const networkSchema = z
  .union([z.literal('none'), section('network', networkFields)], {
    error: (issue) =>
      `${describeValue(issue.input)} is not a network setting: use none, or { mode: ask, allow: [api.example.com] }`,
  })
  .transform(
    (network): NetworkConfig =>
      network === 'none'
        ? { mode: 'none', allow: [], hosts: Object.create(null) as Record<string, string> }
        : { mode: network.mode, allow: uniqueEntries(network.allow), hosts: network.hosts },
  );

export const secretFields = {
  name: text('name').superRefine((name, ctx) => {
    const problem = envNameProblem(name);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  fromEnv: text('fromEnv')
    .superRefine((name, ctx) => {
      const problem = envNameProblem(name);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  value: text('value').optional(),
  hosts: z
    .array(
      text('a host').superRefine((host, ctx) => {
        const parsed = parseAllowEntry(host);
        if (!parsed.ok) ctx.addIssue({ code: 'custom', message: parsed.problem });
        else if ('registry' in parsed.value)
          ctx.addIssue({
            code: 'custom',
            message: `${host}: a secret goes to named hosts, not a registry alias`,
          });
      }),
      { error: (issue) => `hosts must be a list of host names, not ${describeValue(issue.input)}` },
    )
    .min(1, { error: 'hosts is empty: name the hosts this secret may be sent to' }),
};

/** Where a secret's value comes from; resolved to the value only when a session is made (`resolveSecrets`). */
export type SecretSource = { readonly fromEnv: string } | { readonly value: string };
export interface SecretConfig {
  readonly name: string;
  readonly source: SecretSource;
  readonly hosts: readonly string[];
}

export const secretsSchema = z
  .array(
    section('a secret', secretFields).transform((raw, ctx): SecretConfig => {
      if ((raw.fromEnv === undefined) === (raw.value === undefined)) {
        ctx.addIssue({
          code: 'custom',
          message: 'give exactly one of fromEnv (a variable of the Airlock process) or value',
        });
        return z.NEVER;
      }
      const source: SecretSource =
        raw.fromEnv !== undefined ? { fromEnv: raw.fromEnv } : { value: raw.value! };
      return { name: raw.name, source, hosts: raw.hosts.map((host) => host.toLowerCase()) };
    }),
    {
      error: (issue) =>
        `secrets must be a list of { name, fromEnv, hosts }, not ${describeValue(issue.input)}`,
    },
  )
  .superRefine((secrets, ctx) => {
    const seen = new Set<string>();
    secrets.forEach((secret, index) => {
      if (seen.has(secret.name))
        ctx.addIssue({
          code: 'custom',
          message: `secret ${secret.name} is listed twice`,
          path: [index, 'name'],
        });
      seen.add(secret.name);
    });
  });
