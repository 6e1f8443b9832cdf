/**
 * A configuration this module validated carries a brand, so the library entry can tell it apart from a
 * plain object in the same shape (which it must validate) without trusting looks: a frozen object
 * with a `sandbox` key is not proof of anything.
 */
import { deepFreeze } from './freeze.ts';
import type { DeepReadonly } from './freeze.ts';
import type { AirlockConfig } from './schema.ts';

const validated = Symbol('airlock.validatedConfig');

/** Brands a configuration that passed the schema (or was derived from one field by checked field), then freezes it. */
export function freezeValidated<T extends object>(config: T): DeepReadonly<T> {
  Object.defineProperty(config, validated, { value: true, enumerable: false });
  return deepFreeze(config);
}

/** True only for a configuration `freezeValidated` produced; a copy or a look-alike is not one. */
export function isValidatedConfig(value: unknown): value is AirlockConfig {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.isFrozen(value) &&
    Object.getOwnPropertyDescriptor(value, validated)?.value === true
  );
}
