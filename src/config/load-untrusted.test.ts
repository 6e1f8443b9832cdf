/**
 * Configuration from untrusted text and from the file system: hostile YAML and values, and finding
 * airlock.yaml and the state directory.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AirlockError } from '../errors/index.ts';
import type { ConfigIssue } from './index.ts';
import { MAX_ALIAS_COUNT, defaultConfig, parseConfig, parseConfigObject, resolveConfig } from './index.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

const MIB = 1024 * 1024;

function issuesOf(error: AirlockError): ConfigIssue[] {
  return error.details['issues'] as ConfigIssue[];
}

describe('parseConfig against hostile input', () => {
  it('refuses env names that are not variable names, including ones with "=" and __proto__', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        'sandbox:\n  env:\n    "A=B": x\n    "1X": y\n    __proto__: z\n    OK: fine\n',
        'airlock.yaml',
      ),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual([
      'sandbox.env["A=B"]',
      'sandbox.env["1X"]',
      'sandbox.env.__proto__',
    ]);
  });

  it('refuses env values containing NUL and non-text values', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  env:\n    A: "x\\0y"\n    PORT: 8080\n', 'airlock.yaml'),
    );
    const messages = issuesOf(error).map((issue) => issue.message);
    expect(messages[0]).toContain('NUL');
    expect(messages[1]).toContain('quote it');
  });

  it('refuses an options object smuggling __proto__ through env', () => {
    const options = JSON.parse('{"sandbox": {"env": {"__proto__": {"polluted": "yes"}}}}') as unknown;
    expect(thrownAirlockError(() => parseConfigObject(options)).code).toBe('INVALID_CONFIG');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('refuses memory: 1e999 and other absurd numbers', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  memory: 1e999\n  pids: 1e30\n', 'airlock.yaml'),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual(['sandbox.memory', 'sandbox.pids']);
  });

  it('refuses a billion-laughs alias bomb with a clear error', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let level = 1; level < 9; level++) {
      const previous = String.fromCharCode(96 + level);
      const name = String.fromCharCode(97 + level);
      levels.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${previous}`).join(', ')}]`);
    }
    const error = thrownAirlockError(() => parseConfig(`${levels.join('\n')}\n`, 'bomb.yaml'));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain(`aliases expand past ${MAX_ALIAS_COUNT}`);
  });

  it('refuses absurd nesting without crashing', () => {
    const depth = 50_000;
    const error = thrownAirlockError(() =>
      parseConfig(`a: ${'['.repeat(depth)}${']'.repeat(depth)}\n`, 'deep.yaml'),
    );
    expect(error.code).toBe('INVALID_CONFIG');
  });

  it('refuses a network allowlist that would allow everything or is not a host', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        'sandbox:\n  network: { allow: ["*", "https://x.com/", "a.com:443", "a.com:0"] }\n',
        'airlock.yaml',
      ),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual([
      'sandbox.network.allow[0]',
      'sandbox.network.allow[1]',
      'sandbox.network.allow[3]',
    ]);
  });

  it('escapes control characters when echoing a bad value', () => {
    const error = thrownAirlockError(() => parseConfig('sandbox:\n  memory: "\\e[31mred"\n', 'airlock.yaml'));
    expect(error.message).not.toContain('\u001b');
    expect(error.message).toContain('\\u001b');
  });
});

describe('resolveConfig', () => {
  let dir: string;
  const env = { HOME: '/home/tester' };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airlock-config-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('uses the defaults when there is no airlock.yaml', async () => {
    const resolved = await resolveConfig({ cwd: dir, env });
    expect(resolved.config).toEqual(defaultConfig());
    expect(resolved.path).toBeUndefined();
    expect(resolved.environment.home).toBe('/home/tester/.local/state/airlock');
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('reads airlock.yaml from the working directory', async () => {
    await writeFile(join(dir, 'airlock.yaml'), 'sandbox:\n  memory: 1g\n');
    const resolved = await resolveConfig({ cwd: dir, env });
    expect(resolved.config.sandbox.memoryBytes).toBe(1024 * MIB);
    expect(resolved.path).toBe(join(dir, 'airlock.yaml'));
  });

  it('stops on a present but invalid airlock.yaml instead of using the defaults', async () => {
    await writeFile(join(dir, 'airlock.yaml'), 'sandbox:\n  memory: lots\n');
    await expect(resolveConfig({ cwd: dir, env })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('airlock.yaml: sandbox.memory: "lots" is not a size') as unknown,
    });
  });

  it('reads an explicit path relative to cwd', async () => {
    await mkdir(join(dir, 'conf'));
    await writeFile(join(dir, 'conf', 'strict.yaml'), 'policy:\n  default: deny\n');
    const resolved = await resolveConfig({ cwd: dir, env, explicitPath: 'conf/strict.yaml' });
    expect(resolved.config.policy.default).toBe('deny');
    expect(resolved.path).toBe(join(dir, 'conf', 'strict.yaml'));
  });

  it('refuses an explicit path that does not exist, even though airlock.yaml does', async () => {
    await writeFile(join(dir, 'airlock.yaml'), '');
    await expect(resolveConfig({ cwd: dir, env, explicitPath: 'missing.yaml' })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      details: { reason: 'missing' },
    });
  });

  it('refuses a directory where the config file should be', async () => {
    await mkdir(join(dir, 'airlock.yaml'));
    await expect(resolveConfig({ cwd: dir, env })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      details: { reason: 'not_a_file' },
    });
  });

  it('refuses an airlock.yml rather than silently ignoring it', async () => {
    await writeFile(join(dir, 'airlock.yml'), 'sandbox:\n  memory: 1g\n');
    await expect(resolveConfig({ cwd: dir, env })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      details: { reason: 'misnamed' },
    });
  });

  it('refuses a file that is not UTF-8', async () => {
    await writeFile(join(dir, 'airlock.yaml'), Buffer.from([0x73, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    await expect(resolveConfig({ cwd: dir, env })).rejects.toMatchObject({ details: { reason: 'not_utf8' } });
  });
});
