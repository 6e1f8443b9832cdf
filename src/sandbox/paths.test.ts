import { describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors/index.ts';
import { resolveSandboxPath } from './paths.ts';

function refusal(path: string, options?: { allowRoot?: boolean }): string | undefined {
  try {
    resolveSandboxPath(path, options);
    return undefined;
  } catch (error) {
    return isAirlockError(error) ? error.code : 'not an AirlockError';
  }
}

describe('resolveSandboxPath', () => {
  const accepted: [string, string][] = [
    ['notes.md', '/workspace/notes.md'],
    ['src/app.ts', '/workspace/src/app.ts'],
    ['./src//app.ts', '/workspace/src/app.ts'],
    ['/workspace/a/b', '/workspace/a/b'],
    ['/tmp/out.txt', '/tmp/out.txt'],
    ['/tmp/dir/', '/tmp/dir'],
  ];
  const refused = [
    '',
    '../etc/passwd',
    '/workspace/../etc/passwd',
    'a/../../etc',
    '/etc/passwd',
    '/workspacefoo/x',
    '/tmpx',
    '/proc/self/environ',
    'a\0b',
    '/workspace',
    '/tmp',
    `/tmp/${'x'.repeat(5000)}`,
  ];

  it('has cases', () => {
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.length).toBeGreaterThan(0);
  });

  it('maps paths into the writable areas, relative ones into /workspace', () => {
    for (const [input, expected] of accepted) expect(resolveSandboxPath(input), input).toBe(expected);
  });

  it('refuses .., paths outside /workspace and /tmp, NUL and overlong paths (adversarial)', () => {
    for (const input of refused)
      expect(refusal(input), JSON.stringify(input.slice(0, 40))).toBe('PATH_OUTSIDE_SANDBOX');
  });

  it('allows the writable roots themselves only where a directory is meant', () => {
    expect(resolveSandboxPath('/workspace', { allowRoot: true })).toBe('/workspace');
    expect(resolveSandboxPath('/tmp/', { allowRoot: true })).toBe('/tmp');
  });
});
