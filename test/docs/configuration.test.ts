/**
 * docs/configuration.md is generated from the airlock.yaml schemas: these tests fail when a key has no
 * words, when the words name a key that is gone, when a stated default or range is not the code's, or
 * when the file in the repo is not what the generator prints.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  configKeyDocs,
  defaultConfig,
  environmentVariableDocs,
  knownKeys,
  parseByteSize,
  parseConfig,
  parseDuration,
} from '../../src/config/index.ts';
import {
  collectConfigKeys,
  REFERENCE_PATH,
  renderConfigReference,
  yamlValue,
} from '../../scripts/config-reference.ts';

const keys = collectConfigKeys();
const byPath = new Map(keys.map((key) => [key.path, key]));

/**
 * Keys an optional section cannot do without, written beside any key of it: a section that is only
 * present when configured (`router.reviewer`) needs them to parse at all.
 */
const requiredSiblings: Readonly<Record<string, string>> = {
  'router.reviewer': 'command: [/usr/bin/true]',
};

function sectionOf(path: string): string {
  return path.slice(0, Math.max(0, path.lastIndexOf('.')));
}

/** airlock.yaml text setting one key (not inside a list) to a value written as YAML. */
function yamlSetting(path: string, value: string): string {
  const parts = path.split('.');
  const lines = parts.map(
    (part, depth) => `${'  '.repeat(depth)}${part}:${depth === parts.length - 1 ? ` ${value}` : ''}`,
  );
  const sibling = requiredSiblings[sectionOf(path)];
  if (sibling !== undefined) lines.push(`${'  '.repeat(parts.length - 1)}${sibling}`);
  return lines.join('\n');
}

/** What the file means without the key: the defaults, with the key's required siblings if any. */
function withoutKey(path: string): ReturnType<typeof defaultConfig> {
  const section = sectionOf(path);
  const sibling = requiredSiblings[section];
  if (sibling === undefined) return defaultConfig();
  const parts = section.split('.');
  const lines = parts.map((part, depth) => `${'  '.repeat(depth)}${part}:`);
  lines.push(`${'  '.repeat(parts.length)}${sibling}`);
  return parseConfig(lines.join('\n'), 'test');
}

/** The nearest enclosing key that is a section with no default (absent unless written), if any. */
function optionalSectionOf(path: string): string | undefined {
  const parts = path.split('.');
  for (let length = 1; length < parts.length; length++) {
    const ancestor = byPath.get(parts.slice(0, length).join('.'));
    if (ancestor !== undefined && !ancestor.hasDefault && ancestor.childPrefix !== undefined) {
      return ancestor.path;
    }
  }
  return undefined;
}

function accepts(path: string, value: string): boolean {
  try {
    parseConfig(yamlSetting(path, value), 'test');
    return true;
  } catch {
    return false;
  }
}

describe('the configuration reference', () => {
  it('describes every key of the schema, and only keys the schema has', () => {
    expect(keys.length).toBeGreaterThan(40);
    const undescribed = keys.map((key) => key.path).filter((path) => configKeyDocs[path] === undefined);
    expect(undescribed, 'keys without an entry in src/config/reference.ts').toEqual([]);
    const stale = Object.keys(configKeyDocs).filter((path) => !byPath.has(path));
    expect(stale, 'entries in src/config/reference.ts for keys the schema no longer has').toEqual([]);
  });

  it('walks the same keys the loader knows (knownKeys), so no section is missed', () => {
    const prefixes = Object.keys(knownKeys);
    expect(prefixes.length).toBeGreaterThan(5);
    for (const prefix of prefixes) {
      const walked = keys
        .filter((key) => {
          const cut = key.path.lastIndexOf('.');
          return (cut === -1 ? '' : key.path.slice(0, cut)) === prefix;
        })
        .map((key) => key.path.slice(prefix === '' ? 0 : prefix.length + 1));
      expect(walked, `keys under "${prefix}"`).toEqual([...(knownKeys[prefix] ?? [])]);
    }
  });

  it('gives every key a type, and writes "when absent" only where the schema has no default', () => {
    for (const key of keys) {
      const doc = configKeyDocs[key.path];
      expect(doc?.type ?? key.type, `${key.path} has no type`).toBeTruthy();
      if (key.hasDefault) expect(doc?.whenAbsent, `${key.path}: its default is the schema's`).toBeUndefined();
    }
  });

  it('prints defaults that, written in airlock.yaml, mean exactly what leaving the key out means', () => {
    const checked = keys.filter(
      (key) => key.hasDefault && !key.path.includes('[]') && key.childPrefix === undefined,
    );
    expect(checked.length).toBeGreaterThan(20);
    for (const key of checked) {
      const written = parseConfig(yamlSetting(key.path, yamlValue(key.defaultValue)), key.path);
      // A key inside a section that is absent by default (cluster) is compared with the empty section;
      // one whose section cannot be empty (router.reviewer) with the section holding its required keys.
      const section =
        requiredSiblings[sectionOf(key.path)] === undefined ? optionalSectionOf(key.path) : undefined;
      const expected =
        section === undefined ? withoutKey(key.path) : parseConfig(yamlSetting(section, '{}'), section);
      expect(written, `${key.path}: ${yamlValue(key.defaultValue)}`).toEqual(expected);
    }
  });

  it('states ranges the code enforces: the bounds are accepted, one step past them is refused', () => {
    const bounded = keys.filter((key) =>
      /from `|at least `|at most `/.test(configKeyDocs[key.path]?.type ?? ''),
    );
    expect(bounded.length).toBeGreaterThan(6);
    for (const key of bounded) {
      const type = configKeyDocs[key.path]?.type ?? '';
      const low = /(?:from|at least) `([^`]+)`/.exec(type)?.[1];
      const high = /(?:to|at most) `([^`]+)`/.exec(type)?.[1];
      const past = (bound: string, direction: -1 | 1): string => {
        if (type.startsWith('size')) return String(parseByteSize(bound) + direction);
        if (type.startsWith('duration')) return `${parseDuration(bound) + direction}ms`;
        if (type.startsWith('number of CPUs')) return String(Number(bound) + direction * 0.001);
        return String(Number(bound) + direction);
      };
      for (const [bound, direction] of [
        [low, -1],
        [high, 1],
      ] as const) {
        if (bound === undefined) continue;
        expect(accepts(key.path, bound), `${key.path}: ${bound}`).toBe(true);
        expect(accepts(key.path, past(bound, direction)), `${key.path}: past ${bound}`).toBe(false);
      }
    }
  });

  it('names every environment variable src/ reads, and none it does not', () => {
    const source = fileURLToPath(new URL('../../src', import.meta.url));
    const read = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
          for (const match of readFileSync(path, 'utf8').matchAll(
            /\benv\[['"]([A-Za-z_][A-Za-z0-9_]*)['"]\]/g,
          )) {
            read.add(match[1] ?? '');
          }
        }
      }
    };
    // Only where Airlock's own environment flows: in sandbox/ and egress/, `env` is what a sandbox gets.
    for (const folder of readdirSync(source)) {
      if (folder !== 'sandbox' && folder !== 'egress' && !folder.endsWith('.ts')) walk(join(source, folder));
    }
    expect(read.size).toBeGreaterThan(5);
    const documented = new Set(environmentVariableDocs.flatMap((doc) => doc.name.split(', ')));
    expect([...read].filter((name) => !documented.has(name)).sort(), 'read but not documented').toEqual([]);
    expect([...documented].filter((name) => !read.has(name)).sort(), 'documented but not read').toEqual([]);
  });

  it('is what the generator prints: docs/configuration.md is up to date (else run npm run docs:config)', () => {
    const current = readFileSync(REFERENCE_PATH, 'utf8');
    expect(
      current === renderConfigReference(),
      'docs/configuration.md is out of date: run npm run docs:config',
    ).toBe(true);
  });
});
