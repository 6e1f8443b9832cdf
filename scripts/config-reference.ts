#!/usr/bin/env node
/**
 * Generates docs/configuration.md from the airlock.yaml schema: every key, its type or accepted
 * values and its default are read from the zod schemas themselves (defaults in the YAML form a user
 * writes: the schema's own `prefault('512m')`), the words from src/config/reference.ts.
 *
 *   npm run docs:config            rewrite docs/configuration.md
 *   npm run docs:config -- --check exit 1 when docs/configuration.md is not what this prints
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import {
  airlockConfigSchema,
  configKeyDocs,
  environmentVariableDocs,
  type ConfigKeyDoc,
} from '../src/config/index.ts';

export const REFERENCE_PATH = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

/** One key as the schema describes it. */
export interface ConfigKeyShape {
  /** Dotted, `[]` for any list item: `sandbox.memory`, `sandbox.secrets[].name`. */
  readonly path: string;
  /** The accepted values when the schema states them (an enum, text, a list…); absent for parsed values. */
  readonly type?: string;
  /** Whether the schema has a default (or prefault); `defaultValue` is then that value. */
  readonly hasDefault: boolean;
  readonly defaultValue?: unknown;
  /** Neither optional nor defaulted: the enclosing mapping must give it. */
  readonly required: boolean;
  /** Keys below this one: a mapping's keys at `path.key`, a list of mappings' at `path[].key`. */
  readonly childPrefix?: string;
}

/**
 * zod's internal definitions, typed per kind in zod itself; the walk reads only these few fields,
 * which are part of every zod 4 schema (`schema._zod.def`).
 */
interface Definition {
  readonly type: string;
  readonly [field: string]: unknown;
}

function definitionOf(schema: unknown): Definition {
  return (schema as { _zod: { def: Definition } })._zod.def;
}

interface Unwrapped {
  readonly core: unknown;
  readonly hasDefault: boolean;
  readonly defaultValue?: unknown;
  readonly optional: boolean;
}

/**
 * Down to the schema a user's value meets: through defaults (the outermost one counts), optional,
 * and pipes (the input side, except after a preprocess step, whose output side is the real schema).
 */
function unwrap(schema: unknown): Unwrapped {
  let current = schema;
  let optional = false;
  let found: { value: unknown } | undefined;
  for (;;) {
    const definition = definitionOf(current);
    switch (definition.type) {
      case 'default':
      case 'prefault':
        found ??= { value: definition['defaultValue'] };
        current = definition['innerType'];
        continue;
      case 'optional':
      case 'nullable':
        optional = true;
        current = definition['innerType'];
        continue;
      case 'pipe': {
        const input = definition['in'];
        current = definitionOf(input).type === 'transform' ? definition['out'] : input;
        continue;
      }
      default:
        return found === undefined
          ? { core: current, hasDefault: false, optional }
          : { core: current, hasDefault: true, defaultValue: found.value, optional };
    }
  }
}

const code = (value: string): string => `\`${value}\``;

/** The accepted values, in words, or undefined when the schema only parses (`z.unknown().transform`). */
function typeOf(schema: unknown): string | undefined {
  const { core } = unwrap(schema);
  const definition = definitionOf(core);
  switch (definition.type) {
    case 'string':
      return 'text';
    case 'boolean':
      return '`true` or `false`';
    case 'number':
      return 'number';
    case 'object':
      return 'mapping';
    case 'enum':
      return `one of ${Object.values(definition['entries'] as Record<string, string>)
        .map(code)
        .join(', ')}`;
    case 'literal':
      return (definition['values'] as unknown[]).map((value) => code(String(value))).join(', ');
    case 'array': {
      const element = definitionOf(unwrap(definition['element']).core);
      if (element.type === 'object') return 'list of mappings';
      const of = typeOf(definition['element']);
      return of === undefined ? 'list' : of.startsWith('one of') ? `list, each ${of}` : `list of ${of}`;
    }
    case 'union': {
      const options = (definition['options'] as unknown[]).map(typeOf);
      if (options.includes(undefined)) return undefined;
      // `x` or `[x, y]`, the usual shorthand for one-or-many: said once.
      const [single, many] = options;
      if (
        options.length === 2 &&
        single !== undefined &&
        (many === `list of ${single}` || many === `list, each ${single}`)
      ) {
        return single.startsWith('one of')
          ? `${single}, or a list of them`
          : `${single}, or a list of ${single}`;
      }
      return options.join(', or ');
    }
    default:
      return undefined;
  }
}

/** The mapping whose keys sit below this schema: its own, a list item's, or a union member's. */
function childrenOf(schema: unknown): { shape: Record<string, unknown>; list: boolean } | undefined {
  const definition = definitionOf(unwrap(schema).core);
  switch (definition.type) {
    case 'object':
      return { shape: definition['shape'] as Record<string, unknown>, list: false };
    case 'array': {
      const element = childrenOf(definition['element']);
      return element === undefined || element.list ? undefined : { shape: element.shape, list: true };
    }
    case 'union':
      for (const option of definition['options'] as unknown[]) {
        const found = childrenOf(option);
        if (found !== undefined) return found;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Every key of the airlock.yaml schema, depth first in the schema's own order. */
export function collectConfigKeys(root: unknown = airlockConfigSchema): ConfigKeyShape[] {
  const keys: ConfigKeyShape[] = [];
  const walk = (shape: Record<string, unknown>, prefix: string): void => {
    for (const [name, schema] of Object.entries(shape)) {
      const path = prefix === '' ? name : `${prefix}.${name}`;
      const unwrapped = unwrap(schema);
      const type = typeOf(schema);
      const children = childrenOf(schema);
      const childPrefix = children === undefined ? undefined : children.list ? `${path}[]` : path;
      keys.push({
        path,
        ...(type === undefined ? {} : { type }),
        hasDefault: unwrapped.hasDefault,
        ...(unwrapped.hasDefault ? { defaultValue: unwrapped.defaultValue } : {}),
        required: !unwrapped.hasDefault && !unwrapped.optional,
        ...(childPrefix === undefined ? {} : { childPrefix }),
      });
      if (children !== undefined && childPrefix !== undefined) walk(children.shape, childPrefix);
    }
  };
  const top = childrenOf(root);
  if (top === undefined) throw new Error('the configuration schema is not a mapping');
  walk(top.shape, '');
  return keys;
}

/** A default as a user writes it in airlock.yaml: `512m`, `[ pip install, write_file ]`, `{ LANG: C.UTF-8 }`. */
export function yamlValue(value: unknown): string {
  return stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trimEnd();
}

function keyBlock(key: ConfigKeyShape, doc: ConfigKeyDoc, level: number): string[] {
  const type = doc.type ?? key.type ?? '';
  const lines = [`${'#'.repeat(level)} \`${key.path}\``, '', `- **Type:** ${type}`];
  const isEmptyMapping =
    typeof key.defaultValue === 'object' &&
    key.defaultValue !== null &&
    !Array.isArray(key.defaultValue) &&
    Object.keys(key.defaultValue).length === 0;
  if (key.required) lines.push('- **Required**');
  else if (key.hasDefault && isEmptyMapping && key.childPrefix !== undefined) {
    lines.push('- **Default:** each key below at its default');
  } else if (key.hasDefault) lines.push(`- **Default:** \`${yamlValue(key.defaultValue)}\``);
  else if (doc.whenAbsent !== undefined) lines.push(`- **When absent:** ${doc.whenAbsent}`);
  else lines.push('- **Optional**');
  lines.push('', doc.description, '');
  return lines;
}

const INTRODUCTION = `# Configuration reference

<!-- Generated by \`npm run docs:config\` from the schemas in src/config and the words in
src/config/reference.ts. Do not edit by hand: a test fails when this file and the generator differ. -->

Airlock reads \`airlock.yaml\` from the directory it starts in, or the file \`--config FILE\` names
(a lone \`airlock.yml\` is refused rather than silently ignored). The file is optional: every key has a safe default,
listed below. Keys are checked strictly: an unknown key, a value of the wrong form or out of range
stops Airlock with every problem listed (and the line it is on); it never falls back to a default.
Command-line flags (\`airlock exec --memory 1g\`, \`airlock serve --port 8080\`) override the file.

Values are written in these forms:

- **size**: a number of bytes, or a number with \`k\`, \`m\`, \`g\` or \`t\` (binary multiples: \`512m\` is
  512 MiB; \`kb\`, \`KiB\` mean the same as \`k\`); fractions of a unit round down (\`1.5g\`).
- **duration**: \`500ms\`, \`30s\`, \`5m\`, \`1h\`, combined largest first (\`1h30m\`); a plain number is
  seconds. At most \`596h31m23s\`, about 24.8 days (the longest timer Node can set).
- **rate**: a count per unit of time: \`30/min\`, \`5/s\`, \`100/h\`.
- Every size, duration, count and rate must be positive: zero never means "unlimited".

A list in YAML may be written \`[a, b]\` or one \`- item\` per line; a mapping \`{ a: 1 }\` or one
\`key: value\` per line.
`;

/** The whole of docs/configuration.md. */
export function renderConfigReference(): string {
  const keys = collectConfigKeys();
  const out: string[] = [INTRODUCTION, '## Environment variables', ''];
  out.push(
    'Besides the file, Airlock reads these variables of its own environment. Variables that a',
    'configuration names (`sandbox.secrets[].fromEnv`, `router.secretEnv`) are read as described there;',
    'no other host variable reaches a sandbox.',
    '',
    '| variable | meaning |',
    '|---|---|',
  );
  for (const variable of environmentVariableDocs) {
    const names = variable.name
      .split(', ')
      .map((name) => code(name))
      .join(', ');
    out.push(`| ${names} | ${variable.description} |`);
  }
  out.push('');
  for (const key of keys) {
    const doc = configKeyDocs[key.path];
    if (doc === undefined) throw new Error(`${key.path} has no entry in src/config/reference.ts`);
    const depth = key.path.split('.').length;
    out.push(...keyBlock(key, doc, Math.min(depth + 1, 4)));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function main(argv: readonly string[]): number {
  const text = renderConfigReference();
  if (argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(REFERENCE_PATH, 'utf8');
    } catch {
      // A missing file differs like any other.
    }
    if (current === text) return 0;
    process.stderr.write(`${REFERENCE_PATH} is out of date: run npm run docs:config\n`);
    return 1;
  }
  writeFileSync(REFERENCE_PATH, text);
  process.stdout.write(`wrote ${REFERENCE_PATH}\n`);
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = main(process.argv.slice(2));
}
