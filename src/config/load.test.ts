import { describe, expect, it } from 'vitest';
import { AirlockError } from '../errors/index.ts';
import type { ConfigIssue } from './index.ts';
import { defaultConfig, parseConfig, parseConfigObject } from './index.ts';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';

const MIB = 1024 * 1024;

// Copied verbatim from DESIGN.md ("airlock.yaml … follows the shape of the pipeline it configures").
const designExample = `
sandbox:
  driver: bwrap          # bwrap | gvisor | docker
  image: host            # bwrap/gvisor: host system dirs read-only, or a rootfs dir; docker: image name
  memory: 512m
  cpus: 0.5
  pids: 256
  scratch: 100m          # writable /tmp and /workspace, size-limited
  network:               # none | allowlist | ask (default: only \`allow\`; a person may grant others)
    mode: ask
    allow: ["api.example.test", "*.docs.example.org:443", "registry:npm"]  # registry:* = the host's own config
    hosts: { "api.example.test": "127.0.0.1" }   # fixed addresses; the only way to private ranges
  secrets:               # the sandbox sees a placeholder; the proxy swaps in the value for \`hosts\`
    - { name: API_TOKEN, fromEnv: API_TOKEN, hosts: ["api.example.test"] }
  timeout: 30s           # per command
  idleTimeout: 15m
  env: { LANG: C.UTF-8 } # the only variables a sandbox sees
policy:
  preset: coding-agent   # readonly | coding-agent | permissive
  default: ask
  rules:
    - { match: "git push", decision: ask, reason: "publishes work outside the sandbox" }
router:
  approvalRequiredFor: ["pip install", "npm install", write_file]
  approvalTimeout: 5m    # undecided means denied
  output: { maxChars: 5000 }
  rateLimit: 30/min
store: sqlite:.airlock/airlock.db
`;

function issuesOf(error: AirlockError): ConfigIssue[] {
  return error.details['issues'] as ConfigIssue[];
}

describe('defaults', () => {
  it('equal the values DESIGN.md documents, in unit-bearing names', () => {
    const config = defaultConfig();
    expect(config.sandbox).toEqual({
      driver: 'bwrap',
      image: 'host',
      memoryBytes: 512 * MIB,
      cpus: 0.5,
      pids: 256,
      scratchBytes: 100 * MIB,
      // Ask, with nothing on the list: no host is reached unless a person grants it.
      network: { mode: 'ask', allow: [], hosts: {} },
      secrets: [],
      timeoutMs: 30_000,
      idleTimeoutMs: 15 * 60_000,
      env: { LANG: 'C.UTF-8' },
      uidRange: { first: 200_000, last: 299_999 },
      // A secret-looking file copied in is reported and redacted, not refused.
      refuseSecretsInWorkspace: false,
    });
    // No `default` of its own: the preset's default (ask for coding-agent) applies.
    expect(config.policy).toEqual({ preset: 'coding-agent', dangerouslyAllowUnjudged: false, rules: [] });
    // write_file is judged by the policy's path rules, not asked about wholesale (issue 13).
    expect(config.router).toEqual({
      approvalRequiredFor: ['pip install', 'npm install'],
      approvalTimeoutMs: 5 * 60_000,
      approvalWaitMs: 15_000,
      output: { maxChars: 5000 },
      archive: { maxBytes: 256 * MIB, maxEntries: 50_000 },
      // Bursts of up to 60 commands, then 30 a minute (issue 13: 40 in a burst hit 30/min after 23).
      rateLimit: { tokens: 30, perMs: 60_000, burst: 60 },
      // No reviewer: a person decides every request.
      reviewer: null,
      secretEnv: [],
    });
    // No store given: the caller uses the state directory's own database (AIRLOCK_HOME/airlock.db).
    expect(config.store).toBeUndefined();
  });

  it('are what an empty or comment-only file or empty sections give', () => {
    expect(parseConfig('', 'airlock.yaml')).toEqual(defaultConfig());
    expect(parseConfig('# nothing yet\n', 'airlock.yaml')).toEqual(defaultConfig());
    expect(parseConfig('sandbox:\nrouter:\n  output:\n', 'airlock.yaml')).toEqual(defaultConfig());
  });

  it('are filled in around the keys a file does set', () => {
    const config = parseConfig('sandbox:\n  memory: 1g\n', 'airlock.yaml');
    expect(config.sandbox.memoryBytes).toBe(1024 * MIB);
    expect(config.sandbox.pids).toBe(256);
    expect(config.router.rateLimit).toEqual({ tokens: 30, perMs: 60_000, burst: 60 });
  });
});

describe('parseConfig', () => {
  it("parses DESIGN.md's full example to the documented values", () => {
    const config = parseConfig(designExample, 'airlock.yaml');
    expect(config).toEqual({
      ...defaultConfig(),
      sandbox: {
        ...defaultConfig().sandbox,
        network: {
          mode: 'ask',
          allow: [
            { host: 'api.example.test', ports: [80, 443] },
            { host: '*.docs.example.org', ports: [443] },
            { registry: 'npm' },
          ],
          hosts: { 'api.example.test': '127.0.0.1' },
        },
        secrets: [{ name: 'API_TOKEN', source: { fromEnv: 'API_TOKEN' }, hosts: ['api.example.test'] }],
      },
      router: {
        ...defaultConfig().router,
        approvalRequiredFor: ['pip install', 'npm install', 'write_file'],
        // A plain rate: a bucket of one minute's worth.
        rateLimit: { tokens: 30, perMs: 60_000, burst: 30 },
      },
      store: { kind: 'sqlite', path: '.airlock/airlock.db' },
      policy: {
        preset: 'coding-agent',
        default: 'ask',
        dangerouslyAllowUnjudged: false,
        rules: [{ match: ['git push'], decision: 'ask', reason: 'publishes work outside the sandbox' }],
      },
    });
  });

  it('parses an allowlisted network, rule examples, ids and optional sandbox keys', () => {
    const config = parseConfig(
      [
        'sandbox:',
        '  driver: docker',
        '  image: python:3.12-slim',
        '  network: { allow: [API.example.com, "*.github.com", api.example.com] }',
        '  cgroupParent: airlock.slice',
        '  maxTimeout: 10m',
        '  env: { PATH: /usr/bin, EMPTY: "" }',
        'policy:',
        '  preset: readonly',
        '  default: deny',
        '  rules:',
        '    - id: no-push',
        '      match: ["git push", "git push *"]',
        '      decision: deny',
        '      reason: publishes work',
        '      examples: { match: ["git push origin main"], not_match: ["git status"] }',
      ].join('\n'),
      'airlock.yaml',
    );
    expect(config.sandbox.network).toEqual({
      mode: 'ask',
      allow: [
        { host: 'api.example.com', ports: [80, 443] },
        { host: '*.github.com', ports: [80, 443] },
      ],
      hosts: {},
    });
    expect(config.sandbox.cgroupParent).toBe('airlock.slice');
    expect(config.sandbox.maxTimeoutMs).toBe(600_000);
    expect(config.sandbox.env).toEqual({ PATH: '/usr/bin', EMPTY: '' });
    expect(config.policy.rules).toEqual([
      {
        id: 'no-push',
        match: ['git push', 'git push *'],
        decision: 'deny',
        reason: 'publishes work',
        examples: { match: ['git push origin main'], not_match: ['git status'] },
      },
    ]);
  });

  it('takes a Docker runtime and image reference for the docker driver only, secretEnv names and session limits', () => {
    const config = parseConfig(
      'sandbox:\n  driver: docker\n  runtime: runsc\n  image: python:3.12-slim\nrouter:\n  secretEnv: [GITHUB_TOKEN]\n',
      'airlock.yaml',
    );
    expect(config.sandbox.runtime).toBe('runsc');
    expect(config.sandbox.image).toBe('python:3.12-slim');
    expect(config.router.secretEnv).toEqual(['GITHUB_TOKEN']);
    expect(defaultConfig().sessions).toEqual({
      maxSessions: 50,
      lifetimeMs: 8 * 60 * 60_000,
      maxLifetimeMs: 24 * 60 * 60_000,
    });
    expect(parseConfig('sessions:\n  max: 5\n  lifetime: 30m\n', 'airlock.yaml').sessions).toEqual({
      maxSessions: 5,
      lifetimeMs: 30 * 60_000,
      maxLifetimeMs: 24 * 60 * 60_000,
    });
    expect(() => parseConfig('sessions:\n  lifetime: 2h\n  maxLifetime: 1h\n', 'airlock.yaml')).toThrow(
      /maxLifetime/,
    );
    expect(defaultConfig().server).toEqual({
      host: '127.0.0.1',
      port: 7400,
      rateLimit: { tokens: 1200, perMs: 60_000 },
      maxBodyBytes: 1024 * 1024,
      mcpDisconnectGraceMs: 30_000,
      dashboard: true,
      trustProxy: false,
    });
    expect(parseConfig('server:\n  port: 8080\n  maxBody: 4m\n', 'airlock.yaml').server).toMatchObject({
      port: 8080,
      maxBodyBytes: 4 * 1024 * 1024,
    });
    const badServer = thrownAirlockError(() =>
      parseConfig('server:\n  port: 70000\n  rateLimit: 5\n  hots: x\n', 'airlock.yaml'),
    );
    expect(issuesOf(badServer).map((issue) => issue.path)).toEqual([
      'server.port',
      'server.rateLimit',
      'server.hots',
    ]);
    const badSessions = thrownAirlockError(() =>
      parseConfig('sessions:\n  max: 0\n  lifetim: 1h\n', 'airlock.yaml'),
    );
    expect(issuesOf(badSessions).map((issue) => issue.path)).toEqual(['sessions.max', 'sessions.lifetim']);
    const wrongDriver = thrownAirlockError(() => parseConfig('sandbox:\n  runtime: runsc\n', 'airlock.yaml'));
    expect(issuesOf(wrongDriver).map((issue) => issue.path)).toEqual(['sandbox.runtime']);
    const badName = thrownAirlockError(() =>
      parseConfig('router:\n  secretEnv: ["not a name"]\n', 'airlock.yaml'),
    );
    expect(issuesOf(badName).map((issue) => issue.path)).toEqual(['router.secretEnv[0]']);
    const badReference = thrownAirlockError(() =>
      parseConfig('sandbox:\n  driver: docker\n  image: "Not A Ref!"\n', 'airlock.yaml'),
    );
    expect(issuesOf(badReference).map((issue) => issue.path)).toEqual(['sandbox.image']);
  });

  it('lists every bad key in the message and in details.issues, never falling back to defaults', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  memory: lots\n  cpus: -1\nrouter:\n  rateLimit: fast\n', 'airlock.yaml'),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toContain(
      'airlock.yaml: sandbox.memory: "lots" is not a size: use a number with a unit, like 256m or 1g',
    );
    expect(error.message).toContain('airlock.yaml: sandbox.cpus: ');
    expect(error.message).toContain('airlock.yaml: router.rateLimit: "fast" is not a rate');
    expect(issuesOf(error).map((issue) => [issue.path, issue.line])).toEqual([
      ['sandbox.memory', 2],
      ['sandbox.cpus', 3],
      ['router.rateLimit', 5],
    ]);
  });

  it('takes a rate limit as a rate or as { rate, burst }, and names a bad burst', () => {
    const mapping = parseConfig('router:\n  rateLimit: { rate: 2/s, burst: 100 }\n', 'airlock.yaml');
    expect(mapping.router.rateLimit).toEqual({ tokens: 2, perMs: 1000, burst: 100 });
    const rateOnly = parseConfig('router:\n  rateLimit: { rate: 10/min }\n', 'airlock.yaml');
    expect(rateOnly.router.rateLimit).toEqual({ tokens: 10, perMs: 60_000, burst: 60 });
    const error = thrownAirlockError(() =>
      parseConfig('router:\n  rateLimit: { rate: 30/min, burst: 0, brust: 5 }\n', 'airlock.yaml'),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual([
      'router.rateLimit.burst',
      'router.rateLimit.brust',
    ]);
  });

  it('takes a reviewer as a program or an endpoint, never both, and names it for the audit log', () => {
    const program = parseConfig(
      'router:\n  reviewer: { command: [/opt/review/bin/check, --strict], timeout: 3s }\n',
      'airlock.yaml',
    );
    expect(program.router.reviewer).toEqual({
      kind: 'command',
      name: 'check',
      argv: ['/opt/review/bin/check', '--strict'],
      timeoutMs: 3000,
    });
    const endpoint = parseConfig(
      'router:\n  reviewer: { url: "http://127.0.0.1:9000/review", name: bot }\n',
      'airlock.yaml',
    );
    expect(endpoint.router.reviewer).toEqual({
      kind: 'http',
      name: 'bot',
      url: 'http://127.0.0.1:9000/review',
      timeoutMs: 10_000,
    });
    for (const bad of [
      'reviewer: { command: [x], url: "http://127.0.0.1/" }',
      'reviewer: { timeout: 5s }',
      'reviewer: { url: "file:///etc/passwd" }',
      'reviewer: { url: "https://user:pw@review.example.test/" }',
      'reviewer: { command: [] }',
      'reviewer: { command: [x], timeout: 10m }',
    ]) {
      const error = thrownAirlockError(() => parseConfig(`router:\n  ${bad}\n`, 'airlock.yaml'));
      expect(error?.code, bad).toBe('INVALID_CONFIG');
    }
  });

  it('names an unknown key and suggests the valid key it is closest to', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  memroy: 1g\n  idle_timeout: 5m\n  colour: blue\n', 'airlock.yaml'),
    );
    const issues = issuesOf(error);
    expect(issues.map((issue) => issue.path)).toEqual([
      'sandbox.memroy',
      'sandbox.idle_timeout',
      'sandbox.colour',
    ]);
    expect(issues[0]?.message).toBe('unknown key "memroy"; did you mean "memory"?');
    expect(issues[1]?.message).toBe('unknown key "idle_timeout"; did you mean "idleTimeout"?');
    expect(issues[2]?.message).toContain('valid keys: driver, image, memory');
    expect(error.message).toContain(
      'airlock.yaml: sandbox.memroy: unknown key "memroy"; did you mean "memory"?',
    );
  });

  it('suggests keys inside nested mappings and list items', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        [
          'sandbox:',
          '  network: { alow: [a.example.com] }',
          'policy:',
          '  rules:',
          '    - { match: x, decision: deny, reason: r, examples: { notmatch: [y] } }',
          'router:',
          '  output: { maxchars: 10 }',
          'stroe: sqlite:x.db',
        ].join('\n'),
        'airlock.yaml',
      ),
    );
    const messages = Object.fromEntries(issuesOf(error).map((issue) => [issue.path, issue.message]));
    expect(messages['sandbox.network.alow']).toContain('did you mean "allow"?');
    expect(messages['policy.rules[0].examples.notmatch']).toContain('did you mean "not_match"?');
    expect(messages['router.output.maxchars']).toContain('did you mean "maxChars"?');
    expect(messages['stroe']).toContain('did you mean "store"?');
  });

  it('reports a YAML syntax error with its line and column', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  memory: 1g\n  env: { A: [\n', 'airlock.yaml'),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(error.message).toMatch(/airlock\.yaml:\d+:\d+: /);
    const [first] = issuesOf(error);
    expect(first?.line).toBeGreaterThanOrEqual(3);
  });

  it('refuses duplicate keys rather than letting the last one silently win', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  memory: 1g\n  memory: 2g\n', 'airlock.yaml'),
    );
    expect(error.code).toBe('INVALID_CONFIG');
    expect(issuesOf(error)[0]?.line).toBe(3);
  });

  it('refuses unknown YAML tags instead of guessing their value', () => {
    expect(
      thrownAirlockError(() => parseConfig('sandbox:\n  memory: !secret 1g\n', 'airlock.yaml')).code,
    ).toBe('INVALID_CONFIG');
  });

  it('refuses a file whose top level is not a mapping', () => {
    const error = thrownAirlockError(() => parseConfig('- sandbox\n', 'airlock.yaml'));
    expect(error.message).toContain('must be a mapping');
  });

  it('refuses a rule without a reason and duplicate rule ids', () => {
    const error = thrownAirlockError(() =>
      parseConfig(
        [
          'policy:',
          '  rules:',
          '    - { id: a, match: x, decision: deny }',
          '    - { id: a, match: y, decision: allow, reason: fine }',
        ].join('\n'),
        'airlock.yaml',
      ),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual(['policy.rules[0].reason']);
    const duplicate = thrownAirlockError(() =>
      parseConfig(
        'policy:\n  rules:\n    - { id: a, match: x, decision: deny, reason: r }\n    - { id: a, match: y, decision: allow, reason: r }\n',
        'airlock.yaml',
      ),
    );
    expect(issuesOf(duplicate).map((issue) => issue.path)).toEqual(['policy.rules[1].id']);
  });

  it('refuses a default timeout longer than maxTimeout and a relative rootfs', () => {
    const error = thrownAirlockError(() =>
      parseConfig('sandbox:\n  timeout: 1h\n  maxTimeout: 10m\n  image: ./rootfs\n', 'airlock.yaml'),
    );
    expect(issuesOf(error).map((issue) => issue.path)).toEqual(['sandbox.image', 'sandbox.timeout']);
  });

  it('takes a uid range, and refuses one that reaches uid 0 or the accounts below 65536 (adversarial)', () => {
    expect(parseConfig('sandbox:\n  uidRange: 300000-300999\n', 'airlock.yaml').sandbox.uidRange).toEqual({
      first: 300_000,
      last: 300_999,
    });
    const cases = ['0-99999', '1000-2000', '300000-200000', 'lots', '200000', '200000-4294967295'];
    expect(cases.length).toBeGreaterThan(0);
    for (const range of cases) {
      const error = thrownAirlockError(() =>
        parseConfig(`sandbox:\n  uidRange: "${range}"\n`, 'airlock.yaml'),
      );
      expect(
        issuesOf(error).map((issue) => issue.path),
        range,
      ).toEqual(['sandbox.uidRange']);
    }
  });

  it('validates options objects with the same schema', () => {
    expect(parseConfigObject({ sandbox: { memory: '1g' } }).sandbox.memoryBytes).toBe(1024 * MIB);
    expect(thrownAirlockError(() => parseConfigObject({ sandbox: { memory: 'lots' } })).message).toContain(
      'options: sandbox.memory: "lots" is not a size',
    );
  });

  it('returns a deeply frozen config', () => {
    const config = parseConfig(designExample, 'airlock.yaml');
    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config.sandbox as { memoryBytes: number }).memoryBytes = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.sandbox.env as Record<string, string>)['LD_PRELOAD'] = '/tmp/x.so';
    }).toThrow(TypeError);
    expect(() => {
      (config.router.approvalRequiredFor as string[]).push('rm');
    }).toThrow(TypeError);
    expect(() => {
      (config.policy.rules[0]?.match as string[]).push('*');
    }).toThrow(TypeError);
  });

  it('gives each call its own objects, so one result cannot affect another', () => {
    expect(defaultConfig().router.approvalRequiredFor).not.toBe(defaultConfig().router.approvalRequiredFor);
  });
});
