/**
 * The airlock.yaml schema, one strict zod object per pipeline stage, defaults inside. YAML keys are the
 * ones DESIGN.md shows (`memory: 512m`); the parsed config carries units in its names (`memoryBytes`)
 * so no caller has to remember what a bare number means.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { policyDocumentKeys, policyDocumentSchema } from '../policy/index.ts';
import { parseStoreLocation } from './fields.ts';
import type { DeepReadonly } from './freeze.ts';
import {
  describeValue,
  formatDuration,
  parseByteSize,
  parseCount,
  parseDuration,
  parseRate,
} from './units.ts';
import { networkFields, secretFields } from './network-schema.ts';
import {
  reviewerFields,
  routerFields,
  routerArchiveFields,
  routerOutputFields,
  routerRateFields,
  routerSchema,
} from './router-schema.ts';
export type { ReviewerConfig } from './router-schema.ts';
import { sandboxFields, sandboxSchema } from './sandbox-schema.ts';
import { nonEmptyText, nullAsAbsent, parsedValue, section, text } from './schema-parts.ts';
export type { NetworkConfig, SecretConfig, SecretSource } from './network-schema.ts';

// ─── egress ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * The egress proxy's bounds per session: what one session's commands may hold open and move, so a
 * busy or hostile sandbox (or a slow upstream) cannot take the proxy from the others.
 */
const egressFields = {
  maxConnections: parsedValue((value) => parseCount(value, { min: 1, max: 10_000 })).prefault(64),
  /** Bytes per second each way, shared by all of a session's connections; absent: not limited. */
  bandwidth: parsedValue((value) => parseByteSize(value, { min: 1024 })).optional(),
  idleTimeout: parsedValue((value) => parseDuration(value, { min: 1000 })).prefault('5m'),
};

export const egressSchema = section('egress', egressFields).transform((raw) => ({
  maxConnectionsPerSession: raw.maxConnections,
  ...(raw.bandwidth === undefined ? {} : { bytesPerSecondPerSession: raw.bandwidth }),
  idleTimeoutMs: raw.idleTimeout,
}));

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

// ─── sessions ───────────────────────────────────────────────────────────────────────────────────────

const sessionsFields = {
  /** Sessions one control plane runs at once; one more is refused with LIMIT_REACHED. */
  max: parsedValue((value) => parseCount(value, { min: 1, max: 10_000 })).prefault(50),
  /** With a cluster: sessions every control plane together runs at once. */
  maxTotal: parsedValue((value) => parseCount(value, { min: 1, max: 1_000_000 })).optional(),
  /** A session ends this long after it was created, busy or not. */
  lifetime: parsedValue((value) => parseDuration(value)).prefault('8h'),
  /** The longest a session may live, from its creation: a caller's `ttlMs` or extension stops here. */
  maxLifetime: parsedValue((value) => parseDuration(value)).prefault('24h'),
};

export const sessionsSchema = section('sessions', sessionsFields)
  .refine((raw) => raw.lifetime <= raw.maxLifetime, {
    message: 'sessions.lifetime must not be longer than sessions.maxLifetime',
    path: ['lifetime'],
  })
  .transform((raw) => ({
    maxSessions: raw.max,
    ...(raw.maxTotal === undefined ? {} : { maxTotalSessions: raw.maxTotal }),
    lifetimeMs: raw.lifetime,
    maxLifetimeMs: raw.maxLifetime,
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
  /** The dashboard at `/` for people watching agents (sign-in with the admin or a viewer/approver token). */
  dashboard: z
    .boolean({ error: (issue) => `dashboard must be true or false, not ${describeValue(issue.input)}` })
    .prefault(true),
  /**
   * One reverse proxy in front (terminating TLS): its X-Forwarded-Proto, -Host and -For are believed,
   * from the nearest hop only. Off by default, because without a proxy any client could send them and
   * pass for another origin or address.
   */
  trustProxy: z
    .boolean({ error: (issue) => `trustProxy must be true or false, not ${describeValue(issue.input)}` })
    .prefault(false),
};

export const serverSchema = section('server', serverFields).transform((raw) => ({
  host: raw.host,
  port: raw.port,
  rateLimit: raw.rateLimit,
  maxBodyBytes: raw.maxBody,
  mcpDisconnectGraceMs: raw.mcpDisconnectGrace,
  dashboard: raw.dashboard,
  trustProxy: raw.trustProxy,
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

// ─── audit ──────────────────────────────────────────────────────────────────────────────────────────

/** A relative path would move with the working directory: the key or the witness would split in two. */
function absolutePath(what: string) {
  return nonEmptyText(what).superRefine((path, ctx) => {
    if (!isAbsolute(path) || path.includes('\0')) {
      ctx.addIssue({
        code: 'custom',
        message: `${what} ${JSON.stringify(path)} is not an absolute path, like /var/lib/airlock/${what === 'keyFile' ? 'audit-key' : what === 'secretFile' ? 'cluster-secret' : 'audit.jsonl'}`,
      });
    }
  });
}

const auditWitnessFields = {
  /**
   * A file outside the store that every audit event is appended to (O_APPEND), one JSON line with its
   * hash each: a copy a database writer must also rewrite. Best on another disk, mount or account.
   */
  file: absolutePath('file'),
};

const auditFields = {
  /** The Ed25519 key that signs checkpoints of the audit chain. Default: AIRLOCK_HOME/audit-key. */
  keyFile: absolutePath('keyFile').optional(),
  /** A checkpoint is signed once this many events were recorded since the last one… */
  checkpointEvery: parsedValue((value) => parseCount(value, { max: 1_000_000 })).prefault(1000),
  /** …and at least this often while events arrive (and at a clean shutdown). */
  checkpointInterval: parsedValue((value) => parseDuration(value, { min: 1000 })).prefault('1m'),
  witness: nullAsAbsent(section('witness', auditWitnessFields).optional()),
};

export const auditSchema = section('audit', auditFields).transform((raw) => ({
  ...(raw.keyFile === undefined ? {} : { keyFile: raw.keyFile }),
  checkpointEvery: raw.checkpointEvery,
  checkpointIntervalMs: raw.checkpointInterval,
  witness: raw.witness === undefined ? null : { file: raw.witness.file },
}));

// ─── cluster ────────────────────────────────────────────────────────────────────────────────────────

/** Letters, digits and `._:-`: a node id appears in URLs, metrics labels and log lines. */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/;

const clusterFields = {
  /** This control plane's name in the cluster. Default (chosen at start): host name and port. */
  nodeId: text('nodeId')
    .superRefine((value, ctx) => {
      if (!NODE_ID.test(value)) {
        ctx.addIssue({
          code: 'custom',
          message: `${JSON.stringify(value)} is not a node id: use up to 63 letters, digits and ._:-, like node-a`,
        });
      }
    })
    .optional(),
  /** How the other control planes reach this one. Default: http://server.host:port (not a wildcard). */
  advertiseUrl: text('advertiseUrl')
    .superRefine((value, ctx) => {
      const problem = advertiseUrlProblem(value);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    })
    .optional(),
  /** The secret every node shares; it authenticates node-to-node calls. Default: AIRLOCK_HOME/cluster-secret. */
  secretFile: absolutePath('secretFile').optional(),
  /** How often this node writes its heartbeat (and load) to the store. */
  heartbeatInterval: parsedValue((value) => parseDuration(value, { min: 100, max: 2000 })).prefault('1s'),
  /** A node whose heartbeat is this old is lost: its sessions end and its approvals expire. */
  failureTimeout: parsedValue((value) => parseDuration(value, { min: 2000, max: 600_000 })).prefault('5s'),
  /** Whether a session's answers name its node's advertiseUrl, for clients to send its requests there. */
  directClients: z
    .boolean({ error: (issue) => `directClients must be true or false, not ${describeValue(issue.input)}` })
    .prefault(true),
};

function advertiseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${JSON.stringify(value)} is not a URL, like http://10.0.0.5:7400`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `${JSON.stringify(value)} must be an http:// or https:// URL`;
  }
  // Node-to-node calls carry a client's bearer token: a URL with its own credentials or a path would
  // send them somewhere else than the node's API root.
  if (url.username !== '' || url.password !== '' || (url.pathname !== '/' && url.pathname !== '')) {
    return `${JSON.stringify(value)} must be the node's address only, like http://10.0.0.5:7400 (no user, password or path)`;
  }
  if (url.search !== '' || url.hash !== '')
    return `${JSON.stringify(value)} must not have ?query or #fragment`;
  return undefined;
}

export const clusterSchema = section('cluster', clusterFields).transform((raw, ctx) => {
  if (raw.failureTimeout < 2 * raw.heartbeatInterval) {
    ctx.addIssue({
      code: 'custom',
      message: `failureTimeout ${formatDuration(raw.failureTimeout)} must be at least twice heartbeatInterval ${formatDuration(raw.heartbeatInterval)}: one late heartbeat must not end a node's sessions`,
      path: ['failureTimeout'],
    });
  }
  return {
    ...(raw.nodeId === undefined ? {} : { nodeId: raw.nodeId }),
    ...(raw.advertiseUrl === undefined ? {} : { advertiseUrl: new URL(raw.advertiseUrl).origin }),
    ...(raw.secretFile === undefined ? {} : { secretFile: raw.secretFile }),
    heartbeatIntervalMs: raw.heartbeatInterval,
    failureTimeoutMs: raw.failureTimeout,
    directClients: raw.directClients,
  };
});
// ─── agent ──────────────────────────────────────────────────────────────────────────────────────────

/** `provider:model`; a bare model name goes to an OpenAI-compatible server. Checked again by the agent stage. */
const MODEL_NAME = /^[\x21-\x7e]{1,200}$/;

const agentFields = {
  /** The model `airlock agent run` uses without `--model`: `anthropic:NAME`, `openai:NAME` or a bare name. */
  model: text('model')
    .refine((value) => MODEL_NAME.test(value), {
      error: 'model must be a name without spaces, like openai:gpt-4.1-mini or anthropic:claude-sonnet-4-5',
    })
    .optional(),
  /** An OpenAI-compatible or Anthropic server other than the provider's own (llama.cpp, vLLM, Ollama…). */
  baseUrl: text('baseUrl')
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), {
      error: 'baseUrl must be an http or https URL, like http://127.0.0.1:8080/v1',
    })
    .optional(),
  /** Model calls a run may make; the run stops past it. */
  maxSteps: parsedValue((value) => parseCount(value, { max: 10_000 })).prefault(50),
  /** Tokens (in and out, every call summed) a run may spend; the run stops once it has. */
  budgetTokens: parsedValue((value) => parseCount(value, { max: 1_000_000_000 })).prefault(1_000_000),
  /** What one request's conversation may take, estimated; older tool results are elided past it. */
  contextTokens: parsedValue((value) => parseCount(value, { min: 2000, max: 10_000_000 })).prefault(32_000),
  /** Longest answer per model call, in tokens. */
  maxTokens: parsedValue((value) => parseCount(value, { max: 1_000_000 })).prefault(4096),
  /** How long run_command waits for a command before answering `running` and letting the model go on. */
  commandWait: parsedValue((value) => parseDuration(value)).prefault('30s'),
  /** Tries per model call: a rate limit, a server error or a lost connection is retried with backoff. */
  attempts: parsedValue((value) => parseCount(value, { max: 10 })).prefault(5),
  /** Instead of the built-in system prompt. */
  systemPrompt: nonEmptyText('systemPrompt').optional(),
  /** Put each model call's messages in the audit log too (by default only model, tokens, latency, stop reason). */
  recordPrompts: z.boolean({ error: 'recordPrompts must be true or false' }).prefault(false),
};

export const agentSchema = section('agent', agentFields).transform((raw) => ({
  ...(raw.model === undefined ? {} : { model: raw.model }),
  ...(raw.baseUrl === undefined ? {} : { baseUrl: raw.baseUrl }),
  maxSteps: raw.maxSteps,
  budgetTokens: raw.budgetTokens,
  contextTokens: raw.contextTokens,
  maxTokens: raw.maxTokens,
  commandWaitMs: raw.commandWait,
  attempts: raw.attempts,
  ...(raw.systemPrompt === undefined ? {} : { systemPrompt: raw.systemPrompt }),
  recordPrompts: raw.recordPrompts,
}));

// ─── the whole file ─────────────────────────────────────────────────────────────────────────────────

const rootFields = {
  sandbox: nullAsAbsent(sandboxSchema.prefault({})),
  egress: nullAsAbsent(egressSchema.prefault({})),
  policy: nullAsAbsent(policySchema.prefault({})),
  router: nullAsAbsent(routerSchema.prefault({})),
  sessions: nullAsAbsent(sessionsSchema.prefault({})),
  server: nullAsAbsent(serverSchema.prefault({})),
  store: storeSchema,
  audit: nullAsAbsent(auditSchema.prefault({})),
  // Absent: one control plane on its own. Needs a PostgreSQL store (checked where the store is known).
  cluster: nullAsAbsent(clusterSchema.optional()),
  agent: nullAsAbsent(agentSchema.prefault({})),
};

export const airlockConfigSchema = z
  .object(rootFields, {
    error: (issue) =>
      `the configuration must be a mapping with sandbox, egress, policy, router, sessions, server, store, audit, cluster and agent sections, not ${describeValue(issue.input)}`,
  })
  .strict();

/**
 * The keys each mapping accepts, for "did you mean" on unknown keys. Paths use `[]` for any list index.
 */
export const knownKeys: Readonly<Record<string, readonly string[]>> = {
  '': Object.keys(rootFields),
  sandbox: Object.keys(sandboxFields),
  'sandbox.network': Object.keys(networkFields),
  'sandbox.secrets[]': Object.keys(secretFields),
  egress: Object.keys(egressFields),
  policy: policyDocumentKeys.document,
  'policy.rules[]': policyDocumentKeys.rule,
  'policy.rules[].examples': policyDocumentKeys.examples,
  router: Object.keys(routerFields),
  'router.output': Object.keys(routerOutputFields),
  'router.archive': Object.keys(routerArchiveFields),
  'router.rateLimit': Object.keys(routerRateFields),
  'router.reviewer': Object.keys(reviewerFields),
  sessions: Object.keys(sessionsFields),
  server: Object.keys(serverFields),
  audit: Object.keys(auditFields),
  'audit.witness': Object.keys(auditWitnessFields),
  cluster: Object.keys(clusterFields),
  agent: Object.keys(agentFields),
};

export type AirlockConfig = DeepReadonly<z.output<typeof airlockConfigSchema>>;
export type SandboxConfig = AirlockConfig['sandbox'];
export type EgressConfig = AirlockConfig['egress'];
export type PolicyConfig = AirlockConfig['policy'];
export type PolicyRuleConfig = PolicyConfig['rules'][number];
export type RouterConfig = AirlockConfig['router'];
export type StoreConfig = AirlockConfig['store'];
export type SessionsConfig = AirlockConfig['sessions'];
export type ServerConfig = AirlockConfig['server'];
export type AuditConfig = AirlockConfig['audit'];
export type ClusterConfig = NonNullable<AirlockConfig['cluster']>;
export type AgentConfig = AirlockConfig['agent'];
export type PresetName = (typeof presetNames)[number];
export type DecisionName = (typeof decisionNames)[number];
