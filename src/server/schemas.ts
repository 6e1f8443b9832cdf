/**
 * The HTTP API's shapes as zod schemas: requests are parsed with them (strict: an unknown field is an
 * error, not ignored), and both requests and responses are described by them in /v1/openapi.json.
 */
import { z } from 'zod';
import { driverNames, presetNames } from '../config/index.ts';
import { MAX_COMMAND_CHARS, runStatuses } from '../router/index.ts';
import { grantScopes } from '../store/index.ts';
import { count, id, queryInt, timestamp } from './schema-parts.ts';

const positiveMs = z.number().int().positive();
const envMap = z.record(z.string().max(256), z.string().max(64 * 1024));
const sessionState = z.enum(['active', 'ended']);
const approvalStatus = z.enum(['pending', 'approved', 'denied', 'expired']);
const outputStream = z.enum(['stdout', 'stderr']);
const grantScope = z.enum(grantScopes);
const queryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

// ─── requests ───────────────────────────────────────────────────────────────────────────────────────

export const sessionParams = z.object({ id }).strict();
export const commandParams = z.object({ id, commandId: id }).strict();
export const outputParams = z.object({ outputId: id }).strict();
export const approvalParams = z.object({ approvalId: id }).strict();

const networkMode = z.enum(['none', 'allowlist', 'ask']);
/**
 * `sandbox.network` of airlock.yaml: `none`, or a mode, host globs (`api.example.test`,
 * `*.docs.example.org:443`, `registry:npm`) and fixed addresses. Entries are checked by the control
 * plane (the same rules as the file), and never wider than its configuration.
 */
const networkRequest = z.union([
  z.literal('none'),
  z
    .object({
      mode: networkMode.optional(),
      allow: z.array(z.string().min(1).max(300)).max(1000).optional(),
      hosts: z.record(z.string().max(300), z.string().max(64)).optional(),
    })
    .strict(),
]);
/** One of the configuration's `sandbox.secrets`, by name, for some of its hosts. */
const secretRequest = z
  .object({
    name: z.string().min(1).max(128),
    hosts: z.array(z.string().min(1).max(300)).max(100).optional(),
    fromEnv: z.string().max(128).optional(),
    value: z
      .string()
      .max(16 * 1024)
      .optional(),
  })
  .strict();

export const networkBody = networkRequest;

export const createSessionBody = z
  .object({
    driver: z.enum(driverNames).optional(),
    image: z.string().min(1).max(4096).optional(),
    memoryBytes: positiveMs.optional(),
    cpus: z.number().positive().optional(),
    pids: positiveMs.optional(),
    scratchBytes: positiveMs.optional(),
    timeoutMs: positiveMs.optional(),
    env: envMap.optional(),
    secretEnv: envMap.optional(),
    idleTimeoutMs: positiveMs.optional(),
    ttlMs: positiveMs.optional(),
    from: z.string().min(1).max(200).optional(),
    policy: z.enum(presetNames).optional(),
    /** With a cluster: the node to run the session on (placement takes the least-loaded otherwise). */
    node: z.string().min(1).max(63).optional(),
    network: networkRequest.optional(),
    secrets: z.array(secretRequest).max(100).optional(),
  })
  .strict();

export const listSessionsQuery = z
  .object({ state: sessionState.optional(), limit: queryInt(1, 1000).optional() })
  .strict();

export const runCommandBody = z
  .object({
    command: z.string().min(1).max(MAX_COMMAND_CHARS),
    timeoutMs: positiveMs.optional(),
    /** Wait for the end (the default), or return at once with `running` or `pending_approval`. */
    wait: z.boolean().default(true),
    /** Where the command starts, inside /workspace or /tmp (relative to /workspace). */
    cwd: z.string().min(1).max(4096).optional(),
    /** Variables for this command only, judged by the policy as `export NAME=value` before it. */
    env: envMap.optional(),
    /** Standard input as text (UTF-8). */
    stdin: z.string().optional(),
    /** Standard input as base64 bytes; not with `stdin`. */
    stdinBase64: z.base64().optional(),
    /**
     * Keep stdin open for input while it runs, on a terminal of this size with `pty`; runs in the
     * background (as `wait: false`). Input: `POST …/commands/:cid/input` or the `…/pty` WebSocket.
     */
    interactive: z
      .object({
        pty: z
          .object({ cols: z.number().int().min(1).max(1000), rows: z.number().int().min(1).max(1000) })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    approvalWaitMs: z
      .number()
      .int()
      .min(0)
      .optional()
      .describe(
        'When a person must approve: how long this call waits for the decision before it answers `pending_approval` (the command still runs by itself once approved). Default `router.approvalWait` (15 s); at most the approval timeout.',
      ),
  })
  .strict()
  .refine((body) => body.stdin === undefined || body.stdinBase64 === undefined, {
    message: 'give stdin or stdinBase64, not both',
    path: ['stdinBase64'],
  });

export const checkCommandBody = z.object({ command: z.string().min(1).max(MAX_COMMAND_CHARS) }).strict();

export const outputQuery = z
  .object({
    stream: outputStream.default('stdout'),
    offset: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    limit: queryInt(1, 1_000_000).optional(),
  })
  .strict();

export const fileQuery = z
  .object({
    path: z.string().min(1).max(4096),
    /** Uploads: `false` returns `pending_approval` at once when a person must approve. */
    wait: queryBoolean.optional(),
    /** Uploads: how long to wait for a person before answering `pending_approval`; default `router.approvalWait`. */
    approvalWaitMs: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();

export const approvalsQuery = z
  .object({
    status: approvalStatus.optional(),
    sessionId: id.optional(),
  })
  .strict();

export const decideBody = z
  .object({
    decision: z.enum(['approve', 'deny']),
    reason: z.string().max(2000).optional(),
    scope: grantScope
      .optional()
      .describe(
        "Approve for the rest of the session: one of the request's `grants` (this command, this program, these hosts).",
      ),
    remember: z.boolean().optional().describe('`scope: command` where the request offers it, else once.'),
  })
  .strict();

// ─── responses ──────────────────────────────────────────────────────────────────────────────────────

export const errorResponse = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});

export const sessionInfo = z.object({
  id,
  state: sessionState,
  driver: z.string(),
  createdAt: timestamp,
  lastActiveAt: timestamp,
  expiresAt: timestamp.nullable(),
  endedAt: timestamp.nullable(),
  endReason: z.string().nullable(),
  limits: z.object({
    memoryBytes: count,
    cpus: z.number(),
    pids: count,
    scratchBytes: count,
    timeoutMs: count,
    idleTimeoutMs: count,
  }),
  policy: z.string(),
  isolation: z
    .object({
      isolation: z.string(),
      platform: z.string().optional(),
      runtime: z.string().optional(),
      image: z.string().optional(),
      processes: z
        .object({
          hostUid: z.number().int().nullable(),
          supervisorIsPid1: z.boolean(),
          separateUid: z.boolean(),
          landlockAbi: z.number().int().nullable(),
          yamaPtraceScope: z.number().int().nullable(),
        })
        .optional()
        .describe(
          "What keeps commands from the sandbox's supervisor (the one process holding the channel to the control plane) and from each other's processes.",
        ),
    })
    .nullable(),
  usage: z
    .object({ memoryBytes: count, pids: count, cpuUsageMs: z.number(), cpuFraction: z.number().nullable() })
    .nullable(),
  boundary: z
    .object({
      network: z.object({ mode: z.enum(['none', 'allowlist', 'ask']), allow: z.array(z.string()) }),
      secrets: z.object({ envNames: z.array(z.string()), files: z.array(z.string()) }),
      home: z.string(),
      approvalRequiredFor: z.array(z.string()),
      reviewer: z.string().nullable(),
      approvalWaitMs: count,
      approvalTimeoutMs: count,
      granted: z.object({ commands: count, programs: z.array(z.string()), hosts: z.array(z.string()) }),
    })
    .nullable()
    .describe(
      'What will ask in this session: the network it reaches, the secrets it holds (reading them asks), what approvalRequiredFor lists, the reviewer, how long a call waits for a person, and what a person granted for the rest of the session. Null once ended.',
    ),
  network: z
    .object({
      mode: networkMode,
      allow: z.array(z.string()),
      hosts: z.record(z.string(), z.string()),
      secrets: z.array(z.object({ name: z.string(), hosts: z.array(z.string()) })),
    })
    .describe(
      "What the session's commands can reach through the egress proxy (as it is now, for a live session): the mode, the allow-list, fixed addresses, and the secrets swapped in (names and hosts, never values).",
    ),
});

export const createdSession = sessionInfo.extend({
  token: z.string().describe('A bearer token scoped to this session; shown once.'),
});

export const sessionList = z.object({ sessions: z.array(sessionInfo) });
export const mintedToken = z.object({ token: z.string() });

export const runResult = z.object({
  id,
  sessionId: id,
  command: z.string(),
  status: z.enum(runStatuses),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  oomKilled: z.boolean(),
  stdout: z.string(),
  stderr: z.string(),
  truncated: z.boolean(),
  outputId: z.string().nullable(),
  durationMs: z.number(),
  decision: z.enum(['allow', 'ask', 'deny']),
  reasons: z.array(z.string()),
  ruleIds: z.array(z.string()),
  approvalId: z.string().nullable(),
  retryAfterMs: z.number().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  refusedHosts: z
    .array(
      z.object({
        host: z.string(),
        port: z.number().int(),
        reason: z.string(),
        message: z.string(),
        count: count,
      }),
    )
    .describe(
      'Hosts the egress proxy refused while the command ran, each with the line its client was told.',
    ),
  forModel: z.string().describe('Short text for the model: what happened and what to do next.'),
});

export const checkResult = z.object({
  sessionId: id,
  command: z.string(),
  decision: z
    .enum(['allow', 'ask', 'deny'])
    .describe('allow: it would run unasked; ask: a person would be asked first; deny: it would be refused.'),
  reasons: z.array(z.string()),
  ruleIds: z.array(z.string()),
  approvalRequiredFor: z.array(z.string()).describe('The router.approvalRequiredFor entries it matches.'),
  grants: z
    .array(z.object({ scope: grantScope, covers: z.array(z.string()) }))
    .describe('For an ask: what a person could approve for the rest of the session instead of once.'),
  forModel: z.string().describe('Short text for the model. Nothing ran.'),
});

export const outputPage = z.object({
  id,
  sessionId: id,
  commandId: id,
  stream: outputStream,
  offset: count,
  text: z.string(),
  totalChars: count,
  nextOffset: count.nullable(),
});

export const fileWriteResult = z.object({
  status: z.enum(['completed', 'denied', 'pending_approval']),
  path: z.string(),
  bytes: count,
  approvalId: z.string().nullable(),
  reasons: z.array(z.string()),
  forModel: z.string(),
});

export const fileList = z.object({
  entries: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['file', 'directory', 'symlink', 'other']),
      sizeBytes: count,
      modifiedMs: z.number(),
    }),
  ),
});

export const approvalRecord = z.object({
  id,
  sessionId: id,
  commandId: id.nullable(),
  action: z.enum(['command', 'write_file', 'egress']),
  subject: z.string(),
  parsed: z.array(z.string()),
  reasons: z.array(z.string()),
  status: approvalStatus,
  createdAt: timestamp,
  expiresAt: timestamp,
  decidedAt: timestamp.nullable(),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  remember: z.boolean(),
  grants: z
    .array(z.object({ scope: grantScope, covers: z.array(z.string()) }))
    .describe('What "remember" may cover, offered with the request; shown before a person chooses.'),
  scope: grantScope.nullable().describe('The grant chosen; null when approved once or not approved.'),
});

export const approvalList = z.object({ approvals: z.array(approvalRecord) });

export const health = z.object({ status: z.literal('ok'), sessions: count, version: z.string() });
