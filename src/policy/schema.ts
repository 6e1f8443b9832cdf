import { z } from 'zod';

export const decisionSchema = z.enum(['allow', 'ask', 'deny']);
export type DecisionValue = z.infer<typeof decisionSchema>;

export const effectKindSchema = z.enum([
  'exec',
  'read',
  'write',
  'delete',
  'net',
  'env-change',
  'env-read',
  'state-change',
  'code',
]);
export type RuleEffectKind = z.infer<typeof effectKindSchema>;

/**
 * Conditions on the session's capabilities (see SessionCapabilities). A rule with `where` applies only
 * when every listed condition holds for the effect: `sandboxed` (commands run in a sandbox),
 * `unsandboxed`, `writable` / `outside-writable` (a path inside / outside the session's writable
 * directories), `given-secret` / `not-given-secret` (a file or variable the session was given as a
 * secret), `loopback` / `granted` / `grantable` / `unreachable` (where a connection ends up: the
 * sandbox itself, a host the session may reach, one a person can grant, one nobody can grant).
 */
export const whereSchema = z.enum([
  'sandboxed',
  'unsandboxed',
  'writable',
  'outside-writable',
  'given-secret',
  'not-given-secret',
  'loopback',
  'granted',
  'grantable',
  'unreachable',
]);
export type WhereCondition = z.infer<typeof whereSchema>;

/** The effect kinds each condition can say something about. */
export const WHERE_KINDS: Readonly<Record<WhereCondition, readonly RuleEffectKind[] | 'any'>> = {
  sandboxed: 'any',
  unsandboxed: 'any',
  writable: ['write', 'delete'],
  'outside-writable': ['write', 'delete'],
  'given-secret': ['read', 'env-read'],
  'not-given-secret': ['read', 'env-read'],
  loopback: ['net'],
  granted: ['net'],
  grantable: ['net'],
  unreachable: ['net'],
};

const list = z
  .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

const examplesSchema = z
  .object({
    match: z.array(z.string()).default([]),
    not_match: z.array(z.string()).default([]),
  })
  .strict();

/**
 * A rule matches either simple commands by argv prefix (`match: "git push"`, alternatives as a list,
 * each word a glob) or effects by kind and target (`effect: read`, `paths: ["~/.ssh/**"]`).
 */
export const ruleSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/, 'ids are lower-case words: letters, digits, . _ -')
      .optional(),
    match: list.optional(),
    effect: z
      .union([effectKindSchema, z.array(effectKindSchema).min(1)])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .optional(),
    paths: list.optional(),
    hosts: list.optional(),
    names: list.optional(),
    langs: list.optional(),
    via: z
      .array(z.enum(['inline', 'stdin', 'file', 'unknown']))
      .min(1)
      .optional(),
    where: z
      .union([whereSchema, z.array(whereSchema).min(1)])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .optional(),
    /** Targets the rule does not apply to, in the same form as paths/hosts/names. */
    except: list.optional(),
    decision: decisionSchema,
    reason: z.string().min(1),
    examples: examplesSchema.optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if ((rule.match === undefined) === (rule.effect === undefined)) {
      ctx.addIssue({ code: 'custom', message: 'a rule needs exactly one of `match` or `effect`' });
    }
    const kinds = new Set(rule.effect ?? []);
    const only = (field: 'paths' | 'hosts' | 'names' | 'langs' | 'via', allowed: readonly string[]) => {
      if (rule[field] !== undefined && ![...kinds].every((k) => allowed.includes(k))) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `\`${field}\` applies only to effect ${allowed.join('/')}`,
        });
      }
    };
    only('paths', ['read', 'write', 'delete']);
    only('hosts', ['net']);
    only('names', ['env-change', 'env-read', 'state-change']);
    only('langs', ['code']);
    only('via', ['code']);
    for (const condition of rule.where ?? []) {
      const allowed = WHERE_KINDS[condition];
      if (allowed === 'any') continue;
      if (rule.effect === undefined || ![...kinds].every((k) => allowed.includes(k))) {
        ctx.addIssue({
          code: 'custom',
          path: ['where'],
          message: `\`where: ${condition}\` applies only to effect ${allowed.join('/')}`,
        });
      }
    }
    if (
      rule.except !== undefined &&
      rule.paths === undefined &&
      rule.hosts === undefined &&
      rule.names === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['except'],
        message: '`except` needs `paths`, `hosts` or `names`',
      });
    }
  });

export type RuleInput = z.input<typeof ruleSchema>;
export type Rule = z.output<typeof ruleSchema>;

export const presetNameSchema = z.enum(['readonly', 'coding-agent', 'permissive']);
export type PresetName = z.infer<typeof presetNameSchema>;

export const policySchema = z
  .object({
    /** Start from a preset: its rules apply too, and a stricter decision always wins. */
    preset: presetNameSchema.optional(),
    /** The decision for an effect no rule matches. Absence never means allow. */
    default: decisionSchema.optional(),
    /**
     * Lets commands the analysis cannot judge (parse errors, unseen code, control characters…)
     * through. Only for testing the sandbox alone.
     */
    dangerouslyAllowUnjudged: z.boolean().default(false),
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

export type PolicyInput = z.input<typeof policySchema>;
export type PolicyDocument = z.output<typeof policySchema>;

/** The keys each level of a policy document accepts (for "did you mean" suggestions elsewhere). */
export const policyDocumentKeys = {
  document: Object.keys(policySchema.shape),
  rule: Object.keys(ruleSchema.shape),
  examples: Object.keys(examplesSchema.shape),
} as const;
