/**
 * The HTTP API's shapes as zod schemas: requests are parsed with them (strict: an unknown field is an
 * error, not ignored), and both requests and responses are described by them in /v1/openapi.json.
 */
import { z } from 'zod';
import { driverNames, presetNames } from '../config/index.ts';
import { MAX_COMMAND_CHARS, runStatuses } from '../router/index.ts';
import { auditEventTypes, verifyProblems } from '../store/index.ts';

/** Ids are opaque here; an unknown one is a 404 from the control plane. The bound keeps logs sane. */
const id = z.string().min(1).max(200);
const count = z.number().int().nonnegative();
const positiveMs = z.number().int().positive();
const envMap = z.record(z.string().max(256), z.string().max(64 * 1024));
const timestamp = z.string();
const sessionState = z.enum(['active', 'ended']);
const approvalStatus = z.enum(['pending', 'approved', 'denied', 'expired']);
const outputStream = z.enum(['stdout', 'stderr']);

/** Query strings are text; numbers arrive as digits. */
const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,15}$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
const queryBoolean = z.enum(['true', 'false']).transform((value) => value === 'true');

// ─── requests ───────────────────────────────────────────────────────────────────────────────────────

export const sessionParams = z.object({ id }).strict();
export const commandParams = z.object({ id, commandId: id }).strict();
export const outputParams = z.object({ outputId: id }).strict();
export const approvalParams = z.object({ approvalId: id }).strict();

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
  })
  .strict();

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
    /** Uploads: wait for a person's approval (default) or return `pending_approval` at once. */
    wait: queryBoolean.optional(),
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
    remember: z.boolean().optional(),
  })
  .strict();

const eventTypes = z
  .string()
  .transform((value) => value.split(',').map((type) => type.trim()))
  .pipe(z.array(z.enum(auditEventTypes)));

export const auditQuery = z
  .object({
    afterSeq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    sessionId: id.optional(),
    type: eventTypes.optional(),
    limit: queryInt(1, 10_000).optional(),
  })
  .strict();

export const auditExportQuery = z
  .object({
    afterSeq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    sessionId: id.optional(),
    type: eventTypes.optional(),
    maxEvents: queryInt(1, Number.MAX_SAFE_INTEGER).optional(),
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
  forModel: z.string().describe('Short text for the model: what happened and what to do next.'),
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
  action: z.enum(['command', 'write_file']),
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
});

export const approvalList = z.object({ approvals: z.array(approvalRecord) });

export const auditEvent = z.object({
  seq: z.number().int().positive(),
  at: timestamp,
  type: z.enum(auditEventTypes),
  sessionId: id.nullable(),
  commandId: id.nullable(),
  data: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});

export const auditList = z.object({ events: z.array(auditEvent) });

const checkpointSummary = z.object({
  signaturesChecked: z.boolean(),
  verified: count,
  lastSeq: count,
  unsignedEvents: count,
  keyIds: z.array(z.string()),
});

export const verifyResult = z.union([
  z.object({
    ok: z.literal(true),
    checked: count,
    lastHash: z.string(),
    checkpoints: checkpointSummary,
    anchor: z.object({ path: z.string(), seq: count }).nullable(),
    witness: z
      .object({
        path: z.string(),
        records: count,
        firstSeq: count,
        lastSeq: count,
        unwitnessedEvents: count,
      })
      .nullable(),
  }),
  z.object({
    ok: z.literal(false),
    checked: count,
    seq: count,
    problem: z.enum(verifyProblems),
    message: z.string(),
  }),
]);

export const health = z.object({ status: z.literal('ok'), sessions: count, version: z.string() });
