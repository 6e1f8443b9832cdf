/**
 * The audit routes' shapes: the query of a page of events and of an export, an event with its hash chain,
 * and the result of verifying the chain. Parsed and described like schemas.ts.
 */
import { z } from 'zod';
import { auditEventTypes, verifyProblems } from '../store/index.ts';
import { count, id, queryInt, timestamp } from './schema-parts.ts';

// ─── requests ───────────────────────────────────────────────────────────────────────────────────────

const eventTypes = z
  .string()
  .transform((value) => value.split(',').map((type) => type.trim()))
  .pipe(z.array(z.enum(auditEventTypes)));

export const auditQuery = z
  .object({
    afterSeq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    /** The newest `limit` events before this seq (still oldest first): paging back from the end. */
    beforeSeq: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
    sessionId: id.optional(),
    commandId: id.optional(),
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
