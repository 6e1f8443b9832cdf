import { AirlockError } from '../errors/index.ts';

/**
 * The nesting depth past which a value is refused. Audit data is shallow (a few levels); a deeper value
 * is a bug, and refusing it keeps the recursion far from the stack limit.
 */
export const MAX_CANONICAL_DEPTH = 64;

/**
 * JSON with object keys sorted (by UTF-16 code units, as `Array.prototype.sort` compares) at every level
 * and no whitespace: the same value always gives the same text, so a hash over it can be recomputed from
 * the stored value. Values JSON cannot represent exactly are refused instead of being dropped or turned
 * into `null` the way `JSON.stringify` does, because a silently changed value would be hashed as
 * something other than what the caller meant to record.
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$', 0);
}

function write(value: unknown, path: string, depth: number): string {
  if (depth > MAX_CANONICAL_DEPTH) {
    throw refuse(path, `is nested deeper than ${MAX_CANONICAL_DEPTH} levels`);
  }
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw refuse(path, `is ${String(value)}, which JSON cannot represent`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    const items: string[] = [];
    for (let index = 0; index < value.length; index++) {
      // A hole reads as undefined and is refused below, like an explicit undefined.
      items.push(write(value[index], `${path}[${index}]`, depth + 1));
    }
    return `[${items.join(',')}]`;
  }
  if (typeof value === 'object' && isPlainObject(value)) {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort()) {
      members.push(`${JSON.stringify(key)}:${write(record[key], `${path}.${key}`, depth + 1)}`);
    }
    return `{${members.join(',')}}`;
  }
  if (typeof value === 'object') {
    throw refuse(
      path,
      'is an object with a prototype (Date, Map, class instance…): convert it to plain JSON',
    );
  }
  throw refuse(path, `is ${typeof value}, which JSON cannot represent`);
}

function isPlainObject(value: object): boolean {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function refuse(path: string, problem: string): AirlockError {
  return new AirlockError('INTERNAL', `canonical JSON: the value at ${path} ${problem}`, { path });
}
