/**
 * The airlock.yaml schema, one strict zod object per pipeline stage, defaults inside. YAML keys are the
 * ones DESIGN.md shows (`memory: 512m`); the parsed config carries units in its names (`memoryBytes`)
 * so no caller has to remember what a bare number means.
 */
import { z } from 'zod';
import { policyDocumentKeys, policyDocumentSchema } from '../policy/index.ts';
import { isAirlockError } from '../errors/index.ts';
import {
  cgroupParentProblem,
  driverNames,
  envNameProblem,
  envValueProblem,
  hostPatternProblem,
  imageProblem,
  parseStoreLocation,
  sandboxValueParsers,
} from './fields.ts';
import type { DeepReadonly } from './freeze.ts';
import {
  describeValue,
  formatDuration,
  parseByteSize,
  parseCount,
  parseDuration,
  parseRate,
} from './units.ts';

/** Runs one of the value parsers from units.ts inside zod, keeping its message (and example) as the issue. */
function parsedValue<T>(parse: (value: string | number) => T) {
  return z.unknown().transform((value, ctx): T => {
    try {
      // The parsers check the runtime type themselves, so a boolean gets the same helpful message.
      return parse(value as string | number);
    } catch (error) {
      if (!isAirlockError(error)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, params: { ...error.details } });
      return z.NEVER;
    }
  });
}

function oneOf<const Values extends readonly [string, ...string[]]>(values: Values, what: string) {
  return z.enum(values, {
    error: (issue) => `${describeValue(issue.input)} is not a ${what}: use one of ${values.join(', ')}`,
  });
}

function text(what: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined
        ? `${what} is required`
        : `${what} must be text, not ${describeValue(issue.input)}`,
  });
}

function nonEmptyText(what: string) {
  return text(what).refine((value) => value.trim() !== '', { error: `${what} is empty` });
}

function section<Shape extends z.ZodRawShape>(name: string, shape: Shape) {
  return z
    .object(shape, {
      // Only the wrong-type issue is the object's own; unknown keys are worded by the loader.
      error: (issue) =>
        issue.code === 'invalid_type'
          ? `${name} must be a mapping, not ${describeValue(issue.input)}`
          : undefined,
    })
    .strict();
}

/**
 * `sandbox:` with every child commented out is null in YAML; treating it as an empty section keeps that
 * common edit from being an error, and it still means exactly the defaults.
 */
function nullAsAbsent<Schema extends z.ZodType>(schema: Schema) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// ─── sandbox ────────────────────────────────────────────────────────────────────────────────────────

export type NetworkConfig = { mode: 'none' } | { mode: 'allow'; hosts: string[] };

const networkAllowFields = {
  allow: z.array(
    text('a host').superRefine((host, ctx) => {
      const problem = hostPatternProblem(host);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    {
      error: (issue) =>
        issue.input === undefined
          ? 'allow is required: a list of hosts, like [api.example.com]'
          : `allow must be a list of hosts, not ${describeValue(issue.input)}`,
    },
  ),
};

const networkSchema = z
  .union([z.literal('none'), section('network', networkAllowFields)], {
    error: (issue) =>
      `${describeValue(issue.input)} is not a network setting: use none, or { allow: [api.example.com] }`,
  })
  .transform(
    (network): NetworkConfig =>
      network === 'none'
        ? { mode: 'none' }
        : { mode: 'allow', hosts: [...new Set(network.allow.map((host) => host.toLowerCase()))] },
  );

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

const sandboxFields = {
  driver: oneOf(driverNames, 'sandbox driver').default('bwrap'),
  image: text('image').default('host'),
  memory: parsedValue(sandboxValueParsers.memory).prefault('512m'),
  cpus: parsedValue(sandboxValueParsers.cpus).prefault(0.5),
  pids: parsedValue(sandboxValueParsers.pids).prefault(256),
  scratch: parsedValue(sandboxValueParsers.scratch).prefault('100m'),
  network: networkSchema.prefault('none'),
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
    timeoutMs: raw.timeout,
    idleTimeoutMs: raw.idleTimeout,
    env: raw.env,
    ...(raw.cgroupParent === undefined ? {} : { cgroupParent: raw.cgroupParent }),
    ...(raw.maxTimeout === undefined ? {} : { maxTimeoutMs: raw.maxTimeout }),
    ...(raw.runtime === undefined ? {} : { runtime: raw.runtime }),
  };
});

// ─── policy ─────────────────────────────────────────────────────────────────────────────────────────

export const presetNames = ['readonly', 'coding-agent', 'permissive'] as const;
export const decisionNames = ['allow', 'ask', 'deny'] as const;

/**
 * The `policy:` section is a policy document, validated by the policy stage's own schema so that
 * airlock.yaml and a standalone policy file accept exactly the same rules. Without a preset, the
 * coding-agent preset applies: adding one rule must not silently drop every built-in protection.
 */
export const policySchema = policyDocumentSchema
  .superRefine((document, ctx) => {
    // Checked here too (the policy stage checks again when compiling) so that airlock.yaml reports it
    // with every other bad key, before anything starts.
    const seen = new Set<string>();
    document.rules.forEach((rule, index) => {
      if (rule.id === undefined) return;
      if (seen.has(rule.id)) {
        ctx.addIssue({
          code: 'custom',
          message: `rule id "${rule.id}" is used twice`,
          path: ['rules', index, 'id'],
        });
      }
      seen.add(rule.id);
    });
  })
  .transform((document) => ({
    ...document,
    preset: document.preset ?? ('coding-agent' as const),
  }));

// ─── router ─────────────────────────────────────────────────────────────────────────────────────────

const routerOutputFields = {
  maxChars: parsedValue((value) => parseCount(value)).prefault(5000),
};

const routerFields = {
  approvalRequiredFor: z
    .array(nonEmptyText('an action'), {
      error: (issue) => `approvalRequiredFor must be a list, not ${describeValue(issue.input)}`,
    })
    .prefault(['pip install', 'npm install', 'write_file']),
  approvalTimeout: parsedValue((value) => parseDuration(value)).prefault('5m'),
  output: nullAsAbsent(section('output', routerOutputFields).prefault({})),
  rateLimit: parsedValue((value) => parseRate(value)).prefault('30/min'),
  /**
   * Host environment variables whose values are secrets: redacted from every output, log and audit
   * record (the sandbox never sees the host environment, but an agent can be handed a secret anyway).
   */
  secretEnv: z
    .array(
      text('a variable name').superRefine((name, ctx) => {
        const problem = envNameProblem(name);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      }),
      { error: (issue) => `secretEnv must be a list of variable names, not ${describeValue(issue.input)}` },
    )
    .prefault([]),
};

export const routerSchema = section('router', routerFields).transform((raw) => ({
  approvalRequiredFor: raw.approvalRequiredFor,
  // Undecided by then means denied.
  approvalTimeoutMs: raw.approvalTimeout,
  output: raw.output,
  rateLimit: raw.rateLimit,
  secretEnv: raw.secretEnv,
}));

// ─── sessions ───────────────────────────────────────────────────────────────────────────────────────

const sessionsFields = {
  /** Sessions one control plane runs at once; one more is refused with LIMIT_REACHED. */
  max: parsedValue((value) => parseCount(value, { min: 1, max: 10_000 })).prefault(50),
  /** A session ends this long after it was created, busy or not. */
  lifetime: parsedValue((value) => parseDuration(value)).prefault('8h'),
};

export const sessionsSchema = section('sessions', sessionsFields).transform((raw) => ({
  maxSessions: raw.max,
  lifetimeMs: raw.lifetime,
}));

// ─── server ─────────────────────────────────────────────────────────────────────────────────────────

const serverFields = {
  /**
   * Where `airlock serve` listens. Loopback by default: anything else exposes sandboxes that run code
   * to the network, so the CLI warns when this is not a loopback address.
   */
  host: nonEmptyText('a host').prefault('127.0.0.1'),
  port: parsedValue((value) => parseCount(value, { max: 65_535 })).prefault(7400),
  /** Requests one bearer token may make; past it, 429 with Retry-After, so one agent cannot starve the rest. */
  rateLimit: parsedValue((value) => parseRate(value)).prefault('1200/min'),
  /** Largest JSON request body. File uploads are bounded by the sandbox's file-copy limit instead. */
  maxBody: parsedValue((value) => parseByteSize(value, { min: 1024, max: 64 * 1024 * 1024 })).prefault('1m'),
  /**
   * How soon an MCP client over HTTP that went away without DELETE /mcp has its MCP session closed
   * (ending the session it made): the time its event stream may stay closed, with no call open, before
   * the client counts as gone. Long enough for a client to reconnect its stream.
   */
  mcpDisconnectGrace: parsedValue((value) => parseDuration(value)).prefault('30s'),
};

export const serverSchema = section('server', serverFields).transform((raw) => ({
  host: raw.host,
  port: raw.port,
  rateLimit: raw.rateLimit,
  maxBodyBytes: raw.maxBody,
  mcpDisconnectGraceMs: raw.mcpDisconnectGrace,
}));

// ─── store ──────────────────────────────────────────────────────────────────────────────────────────

export const storeSchema = text('store')
  .transform((value, ctx) => {
    const location = parseStoreLocation(value);
    if (typeof location === 'string') {
      ctx.addIssue({ code: 'custom', message: location });
      return z.NEVER;
    }
    return location;
  })
  // Absent means the state directory's own database (AIRLOCK_HOME/airlock.db), chosen by the caller.
  .optional();

// ─── the whole file ─────────────────────────────────────────────────────────────────────────────────

const rootFields = {
  sandbox: nullAsAbsent(sandboxSchema.prefault({})),
  policy: nullAsAbsent(policySchema.prefault({})),
  router: nullAsAbsent(routerSchema.prefault({})),
  sessions: nullAsAbsent(sessionsSchema.prefault({})),
  server: nullAsAbsent(serverSchema.prefault({})),
  store: storeSchema,
};

export const airlockConfigSchema = z
  .object(rootFields, {
    error: (issue) =>
      `the configuration must be a mapping with sandbox, policy, router, sessions, server and store sections, not ${describeValue(issue.input)}`,
  })
  .strict();

/**
 * The keys each mapping accepts, for "did you mean" on unknown keys. Paths use `[]` for any list index.
 */
export const knownKeys: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(rootFields),
  sandbox: Object.keys(sandboxFields),
  'sandbox.network': Object.keys(networkAllowFields),
  policy: policyDocumentKeys.document,
  'policy.rules[]': policyDocumentKeys.rule,
  'policy.rules[].examples': policyDocumentKeys.examples,
  router: Object.keys(routerFields),
  'router.output': Object.keys(routerOutputFields),
  sessions: Object.keys(sessionsFields),
  server: Object.keys(serverFields),
};

export type AirlockConfig = DeepReadonly<z.output<typeof airlockConfigSchema>>;
export type SandboxConfig = AirlockConfig['sandbox'];
export type PolicyConfig = AirlockConfig['policy'];
export type PolicyRuleConfig = PolicyConfig['rules'][number];
export type RouterConfig = AirlockConfig['router'];
export type StoreConfig = AirlockConfig['store'];
export type SessionsConfig = AirlockConfig['sessions'];
export type ServerConfig = AirlockConfig['server'];
export type PresetName = (typeof presetNames)[number];
export type DecisionName = (typeof decisionNames)[number];
