import { describe, expect, it } from 'vitest';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';
import {
  createRegistryResolver,
  parseConfig,
  pipConfigUrls,
  resolveSecrets,
  type ProgramRunner,
} from './index.ts';

function issuesOf(error: {
  details: Readonly<Record<string, unknown>>;
}): Array<{ path: string; message: string }> {
  return error.details['issues'] as Array<{ path: string; message: string }>;
}

describe('sandbox.network and sandbox.secrets', () => {
  it('reads modes, ports, registries and fixed addresses', () => {
    const config = parseConfig(
      [
        'sandbox:',
        '  network:',
        '    mode: allowlist',
        '    allow: [api.example.test, "git.example.test:22", "registry:pypi"]',
        '    hosts: { API.example.test: "::1" }',
      ].join('\n'),
      'airlock.yaml',
    );
    expect(config.sandbox.network).toEqual({
      mode: 'allowlist',
      allow: [
        { host: 'api.example.test', ports: [80, 443] },
        { host: 'git.example.test', ports: [22] },
        { registry: 'pypi' },
      ],
      hosts: { 'api.example.test': '::1' },
    });
    expect(parseConfig('sandbox: { network: none }', 'airlock.yaml').sandbox.network).toEqual({
      mode: 'none',
      allow: [],
      hosts: {},
    });
  });

  it('refuses bad modes, hosts entries and secrets, each at its path', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        [
          'sandbox:',
          '  network:',
          '    mode: open',
          '    hosts: { "*.example.test": 127.0.0.1, api.example.test: localhost, __proto__: 1.2.3.4 }',
          '  secrets:',
          '    - { name: A_TOKEN, hosts: [api.example.test] }',
          '    - { name: B_TOKEN, fromEnv: B, value: literal-value, hosts: [api.example.test] }',
          '    - { name: C_TOKEN, fromEnv: C, hosts: [] }',
          '    - { name: D_TOKEN, fromEnv: D, hosts: ["registry:npm"] }',
          '    - { name: A_TOKEN, fromEnv: A, hosts: [api.example.test], sendTo: x }',
        ].join('\n'),
        'airlock.yaml',
      ),
    );
    const paths = issuesOf(error).map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'sandbox.network.mode',
        'sandbox.network.hosts["*.example.test"]',
        'sandbox.network.hosts["api.example.test"]',
        'sandbox.network.hosts.__proto__',
        'sandbox.secrets[0]',
        'sandbox.secrets[1]',
        'sandbox.secrets[2].hosts',
        'sandbox.secrets[3].hosts[0]',
        'sandbox.secrets[4].sendTo',
      ]),
    );
    expect(error.message).toMatch(/exactly one of fromEnv/);
  });

  it('resolves secret values from the process environment, naming every missing one', () => {
    const config = parseConfig(
      'sandbox:\n  secrets:\n    - { name: API_TOKEN, fromEnv: MY_TOKEN, hosts: [api.example.test] }\n    - { name: LIT, value: literal-value-1, hosts: [API.example.test] }\n',
      'airlock.yaml',
    );
    expect(resolveSecrets(config.sandbox.secrets, { MY_TOKEN: 'from-env-value' })).toEqual([
      { name: 'API_TOKEN', value: 'from-env-value', hosts: ['api.example.test'] },
      { name: 'LIT', value: 'literal-value-1', hosts: ['api.example.test'] },
    ]);
    const error = thrownAirlockError(() => resolveSecrets(config.sandbox.secrets, { MY_TOKEN: '' }));
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/API_TOKEN: the variable MY_TOKEN is not set/);
  });
});

describe('egress bounds', () => {
  it('reads per-session connections, bandwidth and idle timeout, with defaults', () => {
    expect(parseConfig('', 'airlock.yaml').egress).toEqual({
      maxConnectionsPerSession: 64,
      idleTimeoutMs: 300_000,
    });
    const config = parseConfig(
      'egress: { maxConnections: 8, bandwidth: 2m, idleTimeout: 30s }',
      'airlock.yaml',
    );
    expect(config.egress).toEqual({
      maxConnectionsPerSession: 8,
      bytesPerSecondPerSession: 2 * 1024 * 1024,
      idleTimeoutMs: 30_000,
    });
  });

  it('refuses bounds that would stop the proxy or leave it unbounded, each at its path', () => {
    const error = thrownAirlockError(() =>
      parseConfig('egress: { maxConnections: 0, bandwidth: 10, idleTimeout: 10ms, max: 3 }', 'airlock.yaml'),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual(
      expect.arrayContaining([
        'egress.maxConnections',
        'egress.bandwidth',
        'egress.idleTimeout',
        'egress.max',
      ]),
    );
  });
});

describe('createRegistryResolver', () => {
  function runner(answers: Record<string, { code: number; stdout: string }>): {
    run: ProgramRunner;
    calls: string[][];
  } {
    const calls: string[][] = [];
    return {
      calls,
      run: async (file, args) => {
        calls.push([file, ...args]);
        return answers[[file, ...args].join(' ').split(' -c ')[0]!] ?? { code: 1, stdout: '' };
      },
    };
  }

  it('asks npm for its configured registry, with an argv and no shell', async () => {
    const { run, calls } = runner({
      'npm config get registry': { code: 0, stdout: 'https://npm.mirror.example.test:8443/\n' },
    });
    const resolve = createRegistryResolver({ env: {}, run });
    expect(await resolve('npm')).toEqual([{ host: 'npm.mirror.example.test', port: 8443 }]);
    expect(calls).toEqual([['npm', 'config', 'get', 'registry']]);
    const fromEnv = createRegistryResolver({
      env: { npm_config_registry: 'http://npm.env.example.test/' },
      run,
    });
    expect(await fromEnv('npm')).toEqual([{ host: 'npm.env.example.test', port: 80 }]);
  });

  it("reads pip's index and extra indexes, skipping file:// ones, with PIP_INDEX_URL first", async () => {
    const listing = [
      ":env:.find-links='/opt/wheels'",
      "global.index-url='https://pypi.mirror.example.test/simple'",
      "global.extra-index-url='file:///opt/pypi/simple https://extra.example.test/simple'",
    ].join('\n');
    const { run } = runner({ 'pip config list': { code: 0, stdout: listing } });
    expect(await createRegistryResolver({ env: {}, run })('pypi')).toEqual([
      { host: 'pypi.mirror.example.test', port: 443 },
      { host: 'extra.example.test', port: 443 },
    ]);
    expect(
      await createRegistryResolver({ env: { PIP_INDEX_URL: 'https://env.example.test/simple' }, run })(
        'pypi',
      ),
    ).toEqual([
      { host: 'env.example.test', port: 443 },
      { host: 'extra.example.test', port: 443 },
    ]);
    expect(pipConfigUrls("user.index-url='https://a.example.test/s'")).toEqual({
      index: ['https://a.example.test/s'],
      extra: [],
    });
  });

  it("falls back to the installed pip's own default index and file host when none is configured", async () => {
    const { run, calls } = runner({
      'pip config list': { code: 0, stdout: '' },
      python3: { code: 0, stdout: 'https://index.example.test/simple\nhttps://files.example.test/\n' },
    });
    expect(await createRegistryResolver({ env: {}, run })('pypi')).toEqual([
      { host: 'index.example.test', port: 443 },
      { host: 'files.example.test', port: 443 },
    ]);
    expect(calls[1]![0]).toBe('python3');
  });

  it('fails with a sentence when the tool is missing or names nothing usable', async () => {
    const { run } = runner({});
    await expect(createRegistryResolver({ env: {}, run })('npm')).rejects.toThrow(/is npm installed/);
    await expect(createRegistryResolver({ env: {}, run })('pypi')).rejects.toThrow(
      /pip names no http\(s\) index/,
    );
  });
});
