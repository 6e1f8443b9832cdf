/** The primitive shapes the HTTP API's schemas share: ids, counts, timestamps, numbers in query strings. */
import { z } from 'zod';

/** Ids are opaque here; an unknown one is a 404 from the control plane. The bound keeps logs sane. */
export const id = z.string().min(1).max(200);
export const count = z.number().int().nonnegative();
export const timestamp = z.string();

/** Query strings are text; numbers arrive as digits. */
export const queryInt = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,16}$/, { error: 'must be a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));
