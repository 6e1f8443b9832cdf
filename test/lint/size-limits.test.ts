import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  MAX_FILE_LINES,
  MAX_FUNCTION_LINES,
  checkSource,
  exemptFiles,
  findSizeViolations,
  formatViolation,
  pendingSplits,
  violationKey,
} from '../../scripts/size-limits.ts';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

describe('size limits of src/', () => {
  const violations = findSizeViolations(repoRoot);

  it('has no file over the line limit and no function or closure over its limit, but the pending ones', () => {
    const unexpected = violations.filter((v) => !pendingSplits.includes(violationKey(v)));
    expect(unexpected.map(formatViolation)).toEqual([]);
  });

  it('lists as pending only violations that still exist', () => {
    const present = new Set(violations.map(violationKey));
    expect(pendingSplits.filter((key) => !present.has(key))).toEqual([]);
  });

  it('exempts only files that exist and are over the limit', () => {
    const exempt = Object.keys(exemptFiles);
    expect(exempt.length).toBeGreaterThan(0);
    for (const file of exempt) {
      const lines = readFileSync(join(repoRoot, file), 'utf8').split('\n').length - 1;
      expect(lines, file).toBeGreaterThan(MAX_FILE_LINES);
    }
  });

  it('reports a long file and a long closure in code that is not exempt', () => {
    const closure = `export const make = () => {\n${'  step();\n'.repeat(MAX_FUNCTION_LINES)}};\n`;
    const padding = '// filler\n'.repeat(MAX_FILE_LINES);
    const found = checkSource('src/example/long.ts', closure + padding).map(formatViolation);
    expect(found).toEqual([
      `src/example/long.ts:1: file has ${MAX_FILE_LINES + MAX_FUNCTION_LINES + 2} lines (limit ${MAX_FILE_LINES})`,
      `src/example/long.ts:1: function make has ${MAX_FUNCTION_LINES + 2} lines (limit ${MAX_FUNCTION_LINES})`,
    ]);
    expect(checkSource(Object.keys(exemptFiles)[0] ?? '', closure + padding)).toEqual([]);
  });
});
