/**
 * The zod building blocks every section of the airlock.yaml schema uses, so each section reports bad
 * values in the same words.
 */
import { z } from 'zod';
import { isAirlockError } from '../errors/index.ts';
import { describeValue } from './units.ts';

/** Runs one of the value parsers from units.ts inside zod, keeping its message (and example) as the issue. */
export function parsedValue<T>(parse: (value: string | number) => T) {
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

export function oneOf<const Values extends readonly [string, ...string[]]>(values: Values, what: string) {
  return z.enum(values, {
    error: (issue) => `${describeValue(issue.input)} is not a ${what}: use one of ${values.join(', ')}`,
  });
}

export function text(what: string) {
  return z.string({
    error: (issue) =>
      issue.input === undefined
        ? `${what} is required`
        : `${what} must be text, not ${describeValue(issue.input)}`,
  });
}

export function nonEmptyText(what: string) {
  return text(what).refine((value) => value.trim() !== '', { error: `${what} is empty` });
}

export function section<Shape extends z.ZodRawShape>(name: string, shape: Shape) {
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
export function nullAsAbsent<Schema extends z.ZodType>(schema: Schema) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
