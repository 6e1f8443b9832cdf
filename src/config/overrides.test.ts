import { describe, expect, it } from 'vitest';
import type { FlagIssue } from './index.ts';
import { defaultConfig, mergeSandboxOverrides, parseConfig } from './index.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

const MIB = 1024 * 1024;

describe('mergeSandboxOverrides', () => {
  it('applies flag values with the same parsers as airlock.yaml', () => {
    const merged = mergeSandboxOverrides(defaultConfig(), {
      driver: 'gvisor',
      memory: '256m',
      cpus: '0.25',
      pids: '128',
      scratch: '64m',
      timeout: '10s',
      env: ['FOO=bar', 'LANG=en_US.UTF-8', 'EQ=a=b'],
    });
    expect(merged.sandbox).toMatchObject({
      driver: 'gvisor',
      memoryBytes: 256 * MIB,
      cpus: 0.25,
      pids: 128,
      scratchBytes: 64 * MIB,
      timeoutMs: 10_000,
      env: { LANG: 'en_US.UTF-8', FOO: 'bar', EQ: 'a=b' },
    });
    expect(Object.isFrozen(merged.sandbox.env)).toBe(true);
  });

  it('leaves unset flags and the original config alone', () => {
    const config = defaultConfig();
    const merged = mergeSandboxOverrides(config, { memory: undefined, timeout: '5' });
    expect(merged.sandbox.memoryBytes).toBe(512 * MIB);
    expect(merged.sandbox.timeoutMs).toBe(5000);
    expect(config.sandbox.timeoutMs).toBe(30_000);
  });

  it('names the flag, the bad value and a valid example', () => {
    const error = thrownAirlockError(() => mergeSandboxOverrides(defaultConfig(), { memory: 'lots' }));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe('--memory "lots" is not a size: use a number with a unit, like 256m or 1g');
  });

  it('lists every bad flag at once', () => {
    const error = thrownAirlockError(() =>
      mergeSandboxOverrides(defaultConfig(), {
        driver: 'firecracker',
        cpus: '0',
        pids: 'many',
        timeout: 'soon',
      }),
    );
    const flags = (error.details['issues'] as FlagIssue[]).map((issue) => issue.flag);
    expect(flags).toEqual(['--driver', '--cpus', '--pids', '--timeout']);
  });

  it('refuses a memory limit too small to start a shell', () => {
    expect(
      thrownAirlockError(() => mergeSandboxOverrides(defaultConfig(), { memory: '512' })).message,
    ).toContain('is too small (the least is 4m)');
  });

  it('refuses --env without a value instead of copying the host variable', () => {
    const error = thrownAirlockError(() =>
      mergeSandboxOverrides(defaultConfig(), { env: ['AWS_SECRET_ACCESS_KEY'] }),
    );
    expect(error.message).toContain('host variables are never passed through');
  });

  it('refuses hostile --env names and values', () => {
    const cases = ['=x', '1A=x', 'A B=x', '__proto__=x', 'A=x\0y', 'PATH;rm=x'];
    expect(cases.length).toBeGreaterThan(0);
    for (const assignment of cases) {
      expect(
        thrownAirlockError(() => mergeSandboxOverrides(defaultConfig(), { env: [assignment] })).code,
        assignment,
      ).toBe('INVALID_ARGUMENT');
    }
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('refuses a --timeout beyond the configured maxTimeout', () => {
    const config = parseConfig('sandbox:\n  maxTimeout: 1m\n', 'airlock.yaml');
    expect(mergeSandboxOverrides(config, { timeout: '1m' }).sandbox.timeoutMs).toBe(60_000);
    expect(thrownAirlockError(() => mergeSandboxOverrides(config, { timeout: '2m' })).message).toContain(
      'is longer than maxTimeout 1m',
    );
  });

  it('checks the image against the chosen driver', () => {
    const docker = parseConfig('sandbox:\n  driver: docker\n  image: python:3.12\n', 'airlock.yaml');
    expect(thrownAirlockError(() => mergeSandboxOverrides(docker, { driver: 'bwrap' })).message).toContain(
      '--image',
    );
    expect(mergeSandboxOverrides(docker, { driver: 'bwrap', image: '/srv/rootfs' }).sandbox.image).toBe(
      '/srv/rootfs',
    );
  });
});
