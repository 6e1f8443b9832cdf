/**
 * Shapes of the routes people use to watch agents (sign-in, their tokens, the command list, usage
 * history, an approval's context, the live audit stream), parsed and described like schemas.ts.
 */
import { z } from 'zod';
import {
  accessTokenRoles,
  auditEventTypes,
  commandStates,
  MAX_COMMAND_PAGE,
  MAX_COMMAND_SEARCH_CHARS,
} from '../store/index.ts';
import { approvalRecord } from './schemas.ts';

const id = z.string().min(1).max(200);
const timestamp = z.string();
const decisionValue = z.enum(['allow', 'ask', 'deny']);

const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const commaList = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((value) => value.split(',').map((item) => item.trim()))
    .pipe(z.array(z.enum(values)));

// ─── sign-in ────────────────────────────────────────────────────────────────────────────────────────

export const signInBody = z
  .object({
    token: z
      .string()
      .min(1)
      .max(512)
      .describe('The admin token, or a viewer or approver token. Never put it in a URL.'),
  })
  .strict();

export const signedIn = z.object({
  role: z.enum(['admin', 'session', ...accessTokenRoles]),
  tokenId: z.string(),
  name: z.string().nullable(),
  csrfToken: z
    .string()
    .nullable()
    .describe('Send it as the x-airlock-csrf header with every change made with the session cookie.'),
  expiresAt: timestamp.nullable(),
});

// ─── people's tokens ────────────────────────────────────────────────────────────────────────────────

export const accessTokenInfo = z.object({
  id: z.string(),
  role: z.enum(accessTokenRoles),
  name: z.string(),
  createdAt: timestamp,
  createdBy: z.string(),
  expiresAt: timestamp.nullable(),
  revokedAt: timestamp.nullable(),
  revokedBy: z.string().nullable(),
});

export const accessTokenList = z.object({ tokens: z.array(accessTokenInfo) });
export const createdAccessToken = accessTokenInfo.extend({
  token: z.string().describe('The token; shown once, only its digest is kept.'),
});

export const createAccessTokenBody = z
  .object({
    role: z.enum(accessTokenRoles),
    name: z.string().min(1).max(100),
    ttlMs: z.number().int().positive().optional(),
  })
  .strict();

export const tokenParams = z.object({ tokenId: id }).strict();

// ─── commands and usage ─────────────────────────────────────────────────────────────────────────────

export const commandListQuery = z
  .object({
    sessionId: id.optional(),
    state: commaList(commandStates).optional(),
    q: z.string().max(MAX_COMMAND_SEARCH_CHARS).optional(),
    before: id.optional(),
    limit: queryInt(1, MAX_COMMAND_PAGE).optional(),
  })
  .strict();

export const commandRecord = z.object({
  id,
  sessionId: id,
  command: z.string(),
  state: z.enum(commandStates),
  background: z.boolean(),
  decision: decisionValue.nullable(),
  reasons: z.array(z.string()),
  approvalId: z.string().nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  outputId: z.string().nullable(),
  createdAt: timestamp,
  startedAt: timestamp.nullable(),
  finishedAt: timestamp.nullable(),
  durationMs: z.number().nullable(),
});

export const commandList = z.object({
  commands: z.array(commandRecord),
  next: z.string().nullable().describe('Pass as `before` for the next (older) page; null at the end.'),
});

export const usageQuery = z.object({ sessionId: id.optional() }).strict();

export const usageList = z.object({
  sessions: z.array(
    z.object({
      sessionId: id,
      samples: z.array(
        z.object({
          at: timestamp,
          memoryBytes: z.number(),
          pids: z.number(),
          cpuFraction: z.number().nullable(),
        }),
      ),
    }),
  ),
});

// ─── an approval's context ──────────────────────────────────────────────────────────────────────────

const effectVerdict = z.object({
  summary: z.string(),
  kind: z.string(),
  decision: decisionValue,
  ruleId: z.string(),
  reason: z.string(),
});

export const approvalContext = z.object({
  approval: approvalRecord,
  command: commandRecord.nullable(),
  decision: z
    .object({ policy: z.string(), ruleIds: z.array(z.string()), reasons: z.array(z.string()) })
    .nullable()
    .describe('What the policy decided when the command was proposed, as the audit log recorded it.'),
  analysis: z
    .object({
      commands: z.array(
        z.object({
          command: z.string(),
          program: z.string().nullable(),
          decision: decisionValue,
          ruleIds: z.array(z.string()),
          reasons: z.array(z.string()),
          effects: z.array(effectVerdict),
        }),
      ),
      hazards: z.array(effectVerdict),
    })
    .nullable()
    .describe("How the session's policy reads the command now; null for a file write or an ended session."),
  recent: z.array(commandRecord).describe("The session's latest commands, newest first."),
});

// ─── the live audit stream ──────────────────────────────────────────────────────────────────────────

export const auditStreamQuery = z
  .object({
    afterSeq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    sessionId: id.optional(),
    type: commaList(auditEventTypes).optional(),
  })
  .strict();
