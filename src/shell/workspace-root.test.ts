import { describe, expect, it } from 'vitest';
import { resolvePathPattern } from './index.ts';

describe('absolute paths under the workspace root', () => {
  const cases: [string, string | undefined, string | null][] = [
    ['/workspace/src/app.ts', '/workspace', './src/app.ts'],
    ['/workspace', '/workspace', '.'],
    ['/workspace/', '/workspace', '.'],
    ['/workspace/a/../b', '/workspace', './b'],
    // Adversarial: `..` is resolved first, so climbing out of the root is not the workspace.
    ['/workspace/../etc/shadow', '/workspace', '/etc/shadow'],
    ['/workspacex/a', '/workspace', '/workspacex/a'],
    ['/workspace/src', undefined, '/workspace/src'],
  ];

  it('has cases', () => expect(cases.length).toBeGreaterThan(0));

  it('are the workspace, judged like relative paths', () => {
    for (const [path, root, expected] of cases) {
      expect(resolvePathPattern(path, path, '.', root).pattern, `${path} under ${root}`).toBe(expected);
    }
  });
});
