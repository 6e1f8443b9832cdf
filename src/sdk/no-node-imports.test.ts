/**
 * The SDK depends on fetch only: no Node built-ins and nothing from the rest of src/, so browsers and
 * other runtimes can load it. The lint rule catches static imports as they are typed; this test also
 * catches dynamic `import()` and `require()` and holds even when lint is skipped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { describe, expect, it } from 'vitest';

const sdkDir = new URL('./', import.meta.url);

/** Module specifiers of static imports/exports, dynamic imports and requires. */
function specifiersOf(source: string): string[] {
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

const nodeBuiltins = new Set(builtinModules);

/** Why a specifier is not allowed in the SDK, or undefined when it is. */
function problemWith(specifier: string): string | undefined {
  if (specifier.startsWith('node:')) return 'a node: import';
  if (nodeBuiltins.has(specifier) || nodeBuiltins.has(specifier.split('/')[0] ?? ''))
    return 'a Node built-in';
  if (!specifier.startsWith('./')) return 'outside src/sdk (only ./ imports are allowed)';
  if (specifier.includes('/../') || specifier.includes('..')) return 'leaves src/sdk';
  return undefined;
}

describe('the SDK sources', () => {
  const files = readdirSync(sdkDir).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));

  it('include the public entry and the files it builds on', () => {
    expect(files).toContain('index.ts');
    expect(files.length).toBeGreaterThan(5);
  });

  it('import nothing from Node and nothing outside src/sdk', () => {
    const problems: string[] = [];
    for (const name of files) {
      const source = readFileSync(new URL(name, sdkDir), 'utf8');
      for (const specifier of specifiersOf(source)) {
        const problem = problemWith(specifier);
        if (problem !== undefined) problems.push(`${name}: '${specifier}' is ${problem}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('would notice each kind of forbidden import (adversarial: the scanner itself must not miss them)', () => {
    const cases = [
      "import { readFileSync } from 'node:fs';",
      "import type { X } from '../server/index.ts';",
      "export { y } from '../errors/index.ts';",
      "import 'node:process';",
      "const fs = await import('fs');",
      'const { join } = require(`path`);',
      "import {\n  a,\n  b,\n} from 'crypto';",
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const source of cases) {
      const found = specifiersOf(source).map(problemWith);
      expect(found.length, source).toBeGreaterThan(0);
      expect(
        found.every((problem) => problem !== undefined),
        source,
      ).toBe(true);
    }
    expect(specifiersOf("import { a } from './url.ts';").map(problemWith)).toEqual([undefined]);
  });
});
