/**
 * The `router:` section of airlock.yaml: approvals (who must approve what, how long a call waits, the
 * reviewer asked first), the rate limit, output shaping and redaction.
 */
import { z } from 'zod';
import { isAirlockError } from '../errors/index.ts';
import { envNameProblem } from './fields.ts';
import { nonEmptyText, nullAsAbsent, parsedValue, section, text, isPlainRecord } from './schema-parts.ts';
import { describeValue, parseCount, parseDuration, parseRate } from './units.ts';
import { reviewerSchema } from './reviewer-schema.ts';
export { reviewerFields } from './reviewer-schema.ts';
export type { ReviewerConfig } from './reviewer-schema.ts';

// ─── router ─────────────────────────────────────────────────────────────────────────────────────────

export const routerOutputFields = {
  maxChars: parsedValue((value) => parseCount(value)).prefault(5000),
};

export const routerRateFields = {
  rate: parsedValue((value) => parseRate(value)).prefault('30/min'),
  burst: parsedValue((value) => parseCount(value, { min: 1, max: 1_000_000 })).prefault(60),
};

/**
 * A session's command rate limit, a token bucket: `burst` commands at once, refilled at `rate`. The
 * default lets an agent's bursts through and holds a runaway loop to a crawl:
 * - an agent's real pace is bounded by its model: each call waits for a model turn (one to several
 *   seconds), so sustained work stays well under 30 commands a minute;
 * - its bursts are not: parallel tool calls, a scripted loop over files or a test matrix send 40 to
 *   60 commands in a few seconds (measured: 40 in one burst; 30/min with a bucket of 30 stopped it
 *   after 23), so the bucket holds 60;
 * - a runaway loop (a script hammering the API, a model repeating one call) gets its 60, then one
 *   command every 2 s, each refusal `rate_limited` and recorded, where nothing would stop it at all.
 * A plain rate (`30/min`) is a bucket as big as one minute's worth.
 */
const rateLimitSchema = z
  .union([
    section('rateLimit', routerRateFields),
    // A mapping is the other form's: said to be the wrong type here, so its own issues are the ones shown.
    z.unknown().transform((value, ctx) => {
      if (!isPlainRecord(value)) return parseRateIn(value, ctx);
      ctx.addIssue({ code: 'invalid_type', expected: 'string', input: value, message: 'not a rate' });
      return z.NEVER;
    }),
  ])
  .transform((limit) =>
    'rate' in limit ? { ...limit.rate, burst: limit.burst } : { ...limit, burst: limit.tokens },
  );

function parseRateIn(value: unknown, ctx: z.RefinementCtx): ReturnType<typeof parseRate> {
  try {
    return parseRate(value as string);
  } catch (error) {
    if (!isAirlockError(error)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message, params: { ...error.details } });
    return z.NEVER;
  }
}

export const routerFields = {
  approvalRequiredFor: z
    .array(nonEmptyText('an action'), {
      error: (issue) => `approvalRequiredFor must be a list, not ${describeValue(issue.input)}`,
    })
    // write_file is not listed: a file copy is judged by the same path rules as a shell write.
    .prefault(['pip install', 'npm install']),
  approvalTimeout: parsedValue((value) => parseDuration(value)).prefault('5m'),
  /**
   * How long a call (a command, a file write, a connection to a host off the allow-list) waits for a
   * person before it answers: short, because an agent or a tool is waiting on the other end. A command
   * then returns `pending_approval` and still runs by itself once approved.
   */
  approvalWait: parsedValue((value) => parseDuration(value)).prefault('15s'),
  /** Asked before a person: a program or an HTTP endpoint that approves, denies or abstains. */
  reviewer: nullAsAbsent(reviewerSchema.optional()),
  output: nullAsAbsent(section('output', routerOutputFields).prefault({})),
  rateLimit: rateLimitSchema.prefault({}),
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
  approvalWaitMs: raw.approvalWait,
  output: raw.output,
  rateLimit: raw.rateLimit,
  reviewer: raw.reviewer ?? null,
  secretEnv: raw.secretEnv,
}));
