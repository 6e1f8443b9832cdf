import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, createRedactor } from './redact.ts';
import { thrownAirlockError } from '../../../test/support/airlock-errors.ts';

// Tokens are assembled at run time so this file holds no literal that secret scanners (GitHub push
// protection, gitleaks) would flag; each has the exact shape of the real thing.
const t = {
  awsKeyId: ['AKIA', 'Q3EGRXZ7LMNP4TWA'].join(''),
  awsTempKeyId: ['ASIA', 'Y4N2KDW8PQRS7VBC'].join(''),
  awsSecret: ['wJalrXUtnFEMI/K7MDENG', '/bPxRfiCYzq8KEYabcd'].join(''),
  awsSessionToken: ['IQoJb3JpZ2luX2VjE', 'Hk8aCXVzLWVhc3QtMSJHMEUCIQDx7+'.repeat(4)].join(''),
  gcpKey: ['AIza', 'SyD7xQk3v9LmN2pR8tW4yZ1aB6cE0fG5hJk'].join(''),
  googleOauth: ['ya29', '.a0AfH6SMBx7Kq9Lm2Np4Rt6Vw8Yz0Ab1Cd3Ef5Gh7'].join(''),
  ghp: ['ghp', '_', 'R7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k'].join(''),
  gho: ['gho', '_', 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8'].join(''),
  ghs: ['ghs', '_', 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2'].join(''),
  githubPat: [
    'github',
    '_pat_',
    '11ABCDEFG0',
    'a1B2c3D4e5F6g7H8i9J0k1',
    '_',
    'L2m3N4o5P6q7R8s9T0u1V2w3X4y5Z6a7B8c9D0e1F2g3H4i5J6k7L8m9N0o',
  ].join(''),
  glpat: ['glpat', '-', 'xY9zW8vU7tS6rQ5pO4nM'].join(''),
  npm: ['npm', '_', 'Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6'].join(''),
  slackBot: ['xoxb', '-', '123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'].join(''),
  slackWebhook: [
    'https://hooks.slack.com/services/',
    'T01ABCDEF/B02GHIJKL/',
    'aBcDeFgHiJkLmNoPqRsTuVwX',
  ].join(''),
  stripeLive: ['sk', '_live_', '51HxYzAbCdEfGhIjKlMnOpQr'].join(''),
  stripeRestricted: ['rk', '_live_', '51HxYzAbCdEfGhIjKlMnOpQrSt'].join(''),
  openaiProject: ['sk', '-proj-', 'Ab3_De6-Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6Kl9'].join(''),
  openaiLegacy: ['sk', '-', 'Ab3De6Gh9Jk2Mn5Pq8St1T3BlbkFJVw4Yz7Bc0Ef3Hi6Kl9Mo2'].join(''),
  anthropic: ['sk', '-ant-', 'api03-Ab3De6Gh9Jk2Mn5Pq8St1Vw4Yz7Bc0Ef3Hi6-Kl9Mo2AA'].join(''),
  jwt: [
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
    'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ',
    'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
  ].join('.'),
  opaqueBearer: ['tok', '_9f8e7d6c5b4a39281706f5e4d3c2b1a0'].join(''),
  basicAuth: btoa('deploy:correct-horse-battery'),
  urlPassword: ['s3cr3t', 'Pa55word'].join(''),
};

const keyBody = [
  'MIIEowIBAAKCAQEA7x2',
  'kQ9mL4vN8pW3sY6zA1bC5dE0fG2hJ4kR7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k',
].join('');
const pemKey = [
  '-----BEGIN RSA PRIVATE KEY-----',
  keyBody,
  'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0F9e8D7c6B5a4',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
const opensshKey = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

interface Case {
  readonly name: string;
  readonly kind: string;
  /** The secret part: no 8-character piece of it may survive. */
  readonly secret: string;
  readonly input: string;
  /** Text around the secret that must survive. */
  readonly keeps: readonly string[];
}

const cases: Case[] = [
  {
    name: 'AWS access key id in an env dump',
    kind: 'aws-access-key-id',
    secret: t.awsKeyId,
    input: `HOME=/root\nAWS_ACCESS_KEY_ID=${t.awsKeyId}\nPATH=/usr/bin`,
    keeps: ['HOME=/root\nAWS_ACCESS_KEY_ID=', '\nPATH=/usr/bin'],
  },
  {
    name: 'temporary AWS key id in `aws sts` JSON',
    kind: 'aws-access-key-id',
    secret: t.awsTempKeyId,
    input: `{\n  "Credentials": {\n    "AccessKeyId": "${t.awsTempKeyId}",\n    "Expiration": "2025-01-01T00:00:00Z"`,
    keeps: ['"AccessKeyId": "', '",\n    "Expiration"'],
  },
  {
    name: 'AWS secret access key in ~/.aws/credentials',
    kind: 'aws-secret-access-key',
    secret: t.awsSecret,
    input: `[default]\naws_access_key_id = ${t.awsKeyId}\naws_secret_access_key = ${t.awsSecret}\nregion = eu-west-1`,
    keeps: ['[default]\n', 'aws_secret_access_key = ', '\nregion = eu-west-1'],
  },
  {
    name: 'AWS secret access key in `aws sts assume-role` JSON',
    kind: 'aws-secret-access-key',
    secret: t.awsSecret,
    input: `    "SecretAccessKey": "${t.awsSecret}",`,
    keeps: ['"SecretAccessKey": "', '",'],
  },
  {
    name: 'AWS secret access key exported in a shell',
    kind: 'aws-secret-access-key',
    secret: t.awsSecret,
    input: `declare -x AWS_SECRET_ACCESS_KEY="${t.awsSecret}"`,
    keeps: ['declare -x AWS_SECRET_ACCESS_KEY="', '"'],
  },
  {
    name: 'AWS session token in JSON',
    kind: 'aws-session-token',
    secret: t.awsSessionToken,
    input: `"SessionToken": "${t.awsSessionToken}"`,
    keeps: ['"SessionToken": "'],
  },
  {
    name: 'GCP API key in a URL query',
    kind: 'gcp-api-key',
    secret: t.gcpKey,
    input: `GET https://maps.googleapis.com/maps/api/geocode/json?address=Paris&key=${t.gcpKey} 200`,
    keeps: ['address=Paris&key=', ' 200'],
  },
  {
    name: 'Google OAuth access token from gcloud',
    kind: 'google-oauth-token',
    secret: t.googleOauth,
    input: `$ gcloud auth print-access-token\n${t.googleOauth}\n`,
    keeps: ['$ gcloud auth print-access-token\n'],
  },
  {
    name: 'GitHub classic token in an env dump',
    kind: 'github-token',
    secret: t.ghp,
    input: `GITHUB_TOKEN=${t.ghp}\nCI=true`,
    keeps: ['GITHUB_TOKEN=', '\nCI=true'],
  },
  {
    name: 'GitHub OAuth token in `gh auth status`',
    kind: 'github-token',
    secret: t.gho,
    input: `  - Token: ${t.gho}\n  - Token scopes: 'repo'`,
    keeps: ['  - Token: ', "\n  - Token scopes: 'repo'"],
  },
  {
    name: 'GitHub app token inside a clone URL',
    kind: 'github-token',
    secret: t.ghs,
    input: `Cloning into 'repo'... https://x-access-token:${t.ghs}@github.com/acme/repo.git`,
    keeps: ['https://x-access-token:', '@github.com/acme/repo.git'],
  },
  {
    name: 'GitHub fine-grained token in JSON',
    kind: 'github-token',
    secret: t.githubPat,
    input: `{"token":"${t.githubPat}","expires":"never"}`,
    keeps: ['{"token":"', '","expires":"never"}'],
  },
  {
    name: 'GitLab token in a git remote',
    kind: 'gitlab-token',
    secret: t.glpat,
    input: `origin\thttps://oauth2:${t.glpat}@gitlab.com/acme/app.git (fetch)`,
    keeps: ['origin\thttps://oauth2:', '@gitlab.com/acme/app.git (fetch)'],
  },
  {
    name: 'npm token in .npmrc',
    kind: 'npm-token',
    secret: t.npm,
    input: `$ cat ~/.npmrc\n//npm.registry.example/:_authToken=${t.npm}\n`,
    keeps: ['//npm.registry.example/:_authToken='],
  },
  {
    name: 'Slack bot token in an env dump',
    kind: 'slack-token',
    secret: t.slackBot,
    input: `SLACK_BOT_TOKEN=${t.slackBot}`,
    keeps: ['SLACK_BOT_TOKEN='],
  },
  {
    name: 'Slack webhook URL in a curl command echo',
    kind: 'slack-webhook',
    secret: t.slackWebhook.slice('https://hooks.slack.com/services/'.length),
    input: `+ curl -X POST -d '{"text":"deployed"}' ${t.slackWebhook}\nok`,
    keeps: [`+ curl -X POST -d '{"text":"deployed"}' `, '\nok'],
  },
  {
    name: 'Stripe live secret key in YAML',
    kind: 'stripe-key',
    secret: t.stripeLive,
    input: `stripe:\n  secret_key: ${t.stripeLive}\n  currency: eur`,
    keeps: ['stripe:\n  secret_key: ', '\n  currency: eur'],
  },
  {
    name: 'Stripe restricted key',
    kind: 'stripe-key',
    secret: t.stripeRestricted,
    input: `STRIPE_RESTRICTED=${t.stripeRestricted}`,
    keeps: ['STRIPE_RESTRICTED='],
  },
  {
    name: 'OpenAI project key in a Python traceback',
    kind: 'openai-key',
    secret: t.openaiProject,
    input: `openai.AuthenticationError: Incorrect API key provided: ${t.openaiProject}. You can find your API key`,
    keeps: ['Incorrect API key provided: ', '. You can find your API key'],
  },
  {
    name: 'OpenAI legacy key in an env dump',
    kind: 'openai-key',
    secret: t.openaiLegacy,
    input: `OPENAI_API_KEY=${t.openaiLegacy}`,
    keeps: ['OPENAI_API_KEY='],
  },
  {
    name: 'Anthropic key in a header dump',
    kind: 'anthropic-key',
    secret: t.anthropic,
    input: `> x-api-key: ${t.anthropic}\n> anthropic-version: 2023-06-01`,
    keeps: ['> x-api-key: ', '\n> anthropic-version: 2023-06-01'],
  },
  {
    name: 'PEM private key block',
    kind: 'private-key',
    secret: keyBody,
    input: `$ cat id_rsa\n${pemKey}\n$ echo done`,
    keeps: ['$ cat id_rsa\n', '\n$ echo done'],
  },
  {
    name: 'OpenSSH private key block',
    kind: 'private-key',
    secret: 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ',
    input: `${opensshKey}\n`,
    keeps: [],
  },
  {
    name: 'private key inside a service-account JSON (escaped newlines)',
    kind: 'private-key',
    secret: keyBody,
    input: `{"type":"service_account","private_key":"${pemKey.replaceAll('\n', '\\n')}\\n","client_email":"ci@x.iam"}`,
    keeps: ['{"type":"service_account","private_key":"', '\\n","client_email":"ci@x.iam"}'],
  },
  {
    name: 'private key cut off before its END line (head -c)',
    kind: 'private-key',
    secret: keyBody,
    input: `-----BEGIN PRIVATE KEY-----\n${keyBody}`,
    keeps: [],
  },
  {
    name: 'JWT in a JSON login response',
    kind: 'jwt',
    secret: t.jwt,
    input: `{"access_token":"${t.jwt}","token_type":"Bearer","expires_in":3600}`,
    keeps: ['{"access_token":"', '","token_type":"Bearer","expires_in":3600}'],
  },
  {
    name: 'JWT as a bearer token in curl -v output',
    kind: 'jwt',
    secret: t.jwt,
    input: `> GET /api/me HTTP/1.1\n> Host: api.example.com\n> Authorization: Bearer ${t.jwt}\n> Accept: */*\n`,
    keeps: ['> Host: api.example.com\n> Authorization: Bearer ', '\n> Accept: */*\n'],
  },
  {
    name: 'opaque bearer token in HTTP/2 curl -v output',
    kind: 'authorization',
    secret: t.opaqueBearer,
    input: `* using HTTP/2\n> authorization: Bearer ${t.opaqueBearer}\n> user-agent: curl/8.5.0\n`,
    keeps: ['> authorization: Bearer ', '\n> user-agent: curl/8.5.0\n'],
  },
  {
    name: 'basic-auth header',
    kind: 'authorization',
    secret: t.basicAuth,
    input: `> Authorization: Basic ${t.basicAuth}\n`,
    keeps: ['> Authorization: Basic '],
  },
  {
    name: 'Authorization header in JSON without a scheme',
    kind: 'authorization',
    secret: t.opaqueBearer,
    input: `{"headers":{"Authorization":"${t.opaqueBearer}"}}`,
    keeps: ['{"headers":{"Authorization":"', '"}}'],
  },
  {
    name: 'bearer token in a log line',
    kind: 'bearer-token',
    secret: t.opaqueBearer,
    input: `DEBUG sending request with Bearer ${t.opaqueBearer} to upstream`,
    keeps: ['DEBUG sending request with Bearer ', ' to upstream'],
  },
  {
    name: 'database URL password (user and host kept)',
    kind: 'url-password',
    secret: t.urlPassword,
    input: `DATABASE_URL=postgres://app_user:${t.urlPassword}@db.internal:5432/app?sslmode=require`,
    keeps: ['DATABASE_URL=postgres://app_user:', '@db.internal:5432/app?sslmode=require'],
  },
  {
    name: 'redis URL with only a password',
    kind: 'url-password',
    secret: t.urlPassword,
    input: `connecting to redis://:${t.urlPassword}@cache:6379/0`,
    keeps: ['connecting to redis://:', '@cache:6379/0'],
  },
];

/** Every 8-character piece of `secret`: finding none in the output means nothing usable remains. */
function pieces(secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i += 1) out.push(secret.slice(i, i + 8));
  return out;
}

const MiB = 1024 * 1024;

describe('createRedactor: token formats', () => {
  const redactor = createRedactor();

  it('has cases, covering every kind the redactor knows', () => {
    expect(cases.length).toBeGreaterThan(0);
    expect(new Set(cases.map((c) => c.kind))).toEqual(
      new Set([
        'aws-access-key-id',
        'aws-secret-access-key',
        'aws-session-token',
        'gcp-api-key',
        'google-oauth-token',
        'github-token',
        'gitlab-token',
        'npm-token',
        'slack-token',
        'slack-webhook',
        'stripe-key',
        'openai-key',
        'anthropic-key',
        'private-key',
        'jwt',
        'authorization',
        'bearer-token',
        'url-password',
      ]),
    );
  });

  it('replaces each secret with [REDACTED:kind], leaves nothing of it, and keeps the text around it', () => {
    for (const c of cases) {
      const result = redactor.redact(c.input);
      expect(result.text, c.name).toContain(`[REDACTED:${c.kind}]`);
      expect(result.kinds, c.name).toContain(c.kind);
      expect(result.redactions, c.name).toBeGreaterThan(0);
      for (const piece of pieces(c.secret)) expect(result.text, `${c.name}: ${piece}`).not.toContain(piece);
      for (const kept of c.keeps) expect(result.text, c.name).toContain(kept);
    }
  });

  it('is idempotent: redacting redacted text changes nothing and counts nothing', () => {
    for (const c of cases) {
      const once = redactor.redact(c.input);
      const twice = redactor.redact(once.text);
      expect(twice.text, c.name).toBe(once.text);
      expect(twice.redactions, c.name).toBe(0);
    }
  });

  it('redacts every secret in a mixed env dump and counts each one', () => {
    const dump = [
      `AWS_ACCESS_KEY_ID=${t.awsKeyId}`,
      `AWS_SECRET_ACCESS_KEY=${t.awsSecret}`,
      `GITHUB_TOKEN=${t.ghp}`,
      `NPM_TOKEN=${t.npm}`,
      'LANG=C.UTF-8',
    ].join('\n');
    const result = redactor.redact(dump);
    expect(result.text).toBe(
      [
        'AWS_ACCESS_KEY_ID=[REDACTED:aws-access-key-id]',
        'AWS_SECRET_ACCESS_KEY=[REDACTED:aws-secret-access-key]',
        'GITHUB_TOKEN=[REDACTED:github-token]',
        'NPM_TOKEN=[REDACTED:npm-token]',
        'LANG=C.UTF-8',
      ].join('\n'),
    );
    expect(result.redactions).toBe(4);
    expect(result.kinds).toEqual(['aws-access-key-id', 'aws-secret-access-key', 'github-token', 'npm-token']);
  });

  it('redacts a private key to the end of the text when its END line is missing (adversarial: partial key)', () => {
    const result = redactor.redact(`before\n-----BEGIN EC PRIVATE KEY-----\n${keyBody}\nno end in sight`);
    expect(result.text).toBe('before\n[REDACTED:private-key]');
  });

  it('redacts consecutive private keys separately and keeps the text between them', () => {
    const result = redactor.redact(`${pemKey}\nbetween\n${opensshKey}`);
    expect(result.text).toBe('[REDACTED:private-key]\nbetween\n[REDACTED:private-key]');
    expect(result.redactions).toBe(2);
  });
});

describe('createRedactor: ordinary output survives', () => {
  const redactor = createRedactor({ secrets: [{ name: 'DB_PASSWORD', value: 'p@ss w0rd/with+chars!' }] });
  const ordinary = [
    'commit 3f786850e387550fdab836ed7e6dc881de23001b',
    'Merge: 1a2b3c4 5d6e7f8',
    'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'md5 d41d8cd98f00b204e9800998ecf8427e  empty.txt',
    'request 123e4567-e89b-12d3-a456-426614174000 finished in 12ms',
    'image: ghcr.io/acme/app@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
    'integrity sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUR8qsPGwAiPi5Ig2a3Q==',
    'pip install scikit-learn  # sk-learn-compatible-estimator-api',
    'error: authorization: please log in again',
    'Use a Bearer token or an API key.',
    'The token_type is bearer; see https://example.com/docs/auth#bearer',
    'eyJ alone is not a token, nor is eyJhbGciOiJIUzI1NiJ9 without a payload',
    'AKIA is a prefix; AKIASHORT is not a key',
    'https://example.com:8443/path?q=a:b@c',
    'ssh://git@github.com:22/acme/repo.git and git@github.com:acme/repo.git',
    'http://[::1]:8080/health',
    'base64 of hello: aGVsbG8gd29ybGQK',
    'Docker version 27.1.1, build 6312585',
    'The quick brown fox jumps over the lazy dog. Secret keys are not in this sentence.',
    'PRIVATE KEY handling is documented in docs/keys.md (no BEGIN line here)',
    '[REDACTED:github-token] was printed by an earlier pass',
  ];

  it('has cases', () => {
    expect(ordinary.length).toBeGreaterThan(0);
  });

  it('leaves hashes, UUIDs, git SHAs, integrity strings, URLs and prose unchanged', () => {
    for (const line of ordinary) {
      const result = redactor.redact(line);
      expect(result.text, line).toBe(line);
      expect(result.redactions, line).toBe(0);
    }
  });
});

describe('createRedactor: configured secret values', () => {
  const value = 'p@ss w0rd/with+chars!';
  const redactor = createRedactor({ secrets: [{ name: 'DB_PASSWORD', value }] });
  const pythonQuote = encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  const printed: { name: string; input: string; gone: string }[] = [
    { name: 'plain', input: `DB_PASSWORD=${value}\n`, gone: value },
    { name: 'base64', input: `$ echo -n "$DB_PASSWORD" | base64\n${btoa(value)}\n`, gone: btoa(value) },
    {
      name: 'base64url',
      input: `token=${btoa(value).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '')}`,
      gone: btoa(value).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, ''),
    },
    {
      name: 'URL-encoded',
      input: `?password=${encodeURIComponent(value)}&x=1`,
      gone: encodeURIComponent(value),
    },
    { name: 'URL-encoded (strict, like Python quote)', input: `?password=${pythonQuote}`, gone: pythonQuote },
    {
      name: 'URL-encoded with lowercase hex',
      input: `pw=${encodeURIComponent(value).toLowerCase()}`,
      gone: encodeURIComponent(value).toLowerCase(),
    },
    {
      name: 'form-encoded',
      input: `password=${encodeURIComponent(value).replaceAll('%20', '+')}`,
      gone: encodeURIComponent(value).replaceAll('%20', '+'),
    },
    {
      name: 'in a database URL',
      input: `postgres://app:${encodeURIComponent(value)}@db:5432/app`,
      gone: encodeURIComponent(value),
    },
  ];

  it('has cases', () => {
    expect(printed.length).toBeGreaterThan(0);
  });

  it('hides the value printed plain, base64-encoded and URL-encoded, naming the env var', () => {
    for (const c of printed) {
      const result = redactor.redact(c.input);
      expect(result.text, c.name).not.toContain(c.gone);
      expect(result.text, c.name).not.toContain(value);
      expect(result.text, c.name).toContain('[REDACTED:env:DB_PASSWORD]');
      expect(result.kinds, c.name).toEqual(['env:DB_PASSWORD']);
      expect(redactor.redact(result.text).text, c.name).toBe(result.text);
    }
  });

  it('hides the value inside a longer base64 stream at every byte alignment (echo "KEY=$SECRET" | base64)', () => {
    const prefixes = ['', 'X', 'XY', 'DB_PASSWORD=', 'password: '];
    expect(prefixes.length).toBeGreaterThan(0);
    for (const prefix of prefixes) {
      const encoded = btoa(`${prefix}${value}\n`);
      const result = redactor.redact(`${encoded}\n`);
      const [before = '', after = '', ...more] = result.text.split('[REDACTED:env:DB_PASSWORD]');
      expect(more, prefix).toEqual([]);
      // Left standing: the prefix's characters plus the one that mixes prefix and value bits, and at the
      // end at most four characters carrying a few bits of the value's last byte, the newline and padding.
      expect(before.length, prefix).toBeLessThanOrEqual(Math.ceil((prefix.length * 8) / 6));
      expect(after.trimEnd().length, prefix).toBeLessThanOrEqual(4);
    }
  });

  it('matches values literally: regex metacharacters in a value are not patterns', () => {
    const tricky = createRedactor({ secrets: [{ name: 'TRICKY', value: 'a.b*c+d?(e)[f]' }] });
    expect(tricky.redact('aXb*c+d?(e)[f] aab*c+d?(e)[f]').redactions).toBe(0);
    expect(tricky.redact('x a.b*c+d?(e)[f] y').text).toBe('x [REDACTED:env:TRICKY] y');
  });

  it('hides the longer value where one secret contains another', () => {
    const both = createRedactor({
      secrets: [
        { name: 'DB_PASS', value: 'hunter22-secret' },
        { name: 'DB_URL', value: 'postgres://app:hunter22-secret@db/app' },
      ],
    });
    const result = both.redact('url=postgres://app:hunter22-secret@db/app pass=hunter22-secret');
    expect(result.text).toBe('url=[REDACTED:env:DB_URL] pass=[REDACTED:env:DB_PASS]');
  });

  it('leaves no fragment where two secrets overlap (one ends with how the other starts)', () => {
    const overlapping = createRedactor({
      secrets: [
        { name: 'FIRST', value: 'ABCDEFGH12345678' },
        { name: 'SECOND', value: '12345678WXYZWXYZ' },
      ],
    });
    const result = overlapping.redact('<ABCDEFGH12345678WXYZWXYZ>');
    expect(result.text).toBe('<[REDACTED:env:FIRST]>');
    expect(result.redactions).toBe(1);
  });

  it('hides back-to-back and overlapping repeats of a periodic value completely (adversarial)', () => {
    const periodic = createRedactor({ secrets: [{ name: 'REP', value: 'abababab' }] });
    expect(periodic.redact(`<${'ab'.repeat(1001)}a>`).text).toBe('<[REDACTED:env:REP]a>');
    expect(periodic.redact('abababab abababab').text).toBe('[REDACTED:env:REP] [REDACTED:env:REP]');
  });

  it('keeps redactors with different secrets independent', () => {
    const a = createRedactor({ secrets: [{ name: 'A_TOKEN', value: 'alpha-secret-1' }] });
    const b = createRedactor({ secrets: [{ name: 'B_TOKEN', value: 'bravo-secret-2' }] });
    expect(a.redact('alpha-secret-1 bravo-secret-2').text).toBe('[REDACTED:env:A_TOKEN] bravo-secret-2');
    expect(b.redact('alpha-secret-1 bravo-secret-2').text).toBe('alpha-secret-1 [REDACTED:env:B_TOKEN]');
  });

  it(`refuses values shorter than ${MIN_SECRET_LENGTH} characters, naming the variable but not the value`, () => {
    const error = thrownAirlockError(() =>
      createRedactor({ secrets: [{ name: 'PORT_PASS', value: 'abc123' }] }),
    );
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.details).toMatchObject({ name: 'PORT_PASS', length: 6, minLength: MIN_SECRET_LENGTH });
    expect(error.message).toContain('PORT_PASS');
    expect(error.message).not.toContain('abc123');
    expect(() =>
      createRedactor({ secrets: [{ name: 'EXACT', value: 'x'.repeat(MIN_SECRET_LENGTH) }] }),
    ).not.toThrow();
  });

  it('refuses names that cannot be env vars and values that would redact its own markers (adversarial)', () => {
    const invalid = [
      { name: 'BAD]NAME', value: 'long-enough-value' },
      { name: '', value: 'long-enough-value' },
      { name: 'X', value: 'REDACTED' },
      { name: 'GITHUB', value: 'EDACTED:github-token]' },
    ];
    expect(invalid.length).toBeGreaterThan(0);
    for (const secret of invalid) {
      expect(thrownAirlockError(() => createRedactor({ secrets: [secret] })).code, secret.name).toBe(
        'INVALID_ARGUMENT',
      );
    }
  });
});

describe('createRedactor: linear time on hostile output', () => {
  const redactor = createRedactor({ secrets: [{ name: 'SECRET', value: 'a'.repeat(40) }] });
  const adversarial: [string, string][] = [
    ['eyJ repeated', 'eyJ'.repeat(MiB / 3)],
    ['JWT-like segments without an end', 'eyJaaaaa.'.repeat(MiB / 9)],
    ['-----BEGIN repeated', '-----BEGIN'.repeat(MiB / 10)],
    ['BEGIN PRIVATE KEY headers without END', '-----BEGIN RSA PRIVATE KEY-----'.repeat(MiB / 31)],
    ['one long run of A', 'A'.repeat(MiB)],
    ['one long run of a (the secret is a run of a)', 'a'.repeat(MiB)],
    ['AKIA repeated', 'AKIA'.repeat(MiB / 4)],
    ['scheme separators', 'a://b:'.repeat(MiB / 6)],
    ['header names without values', 'Authorization: '.repeat(MiB / 15)],
    ['secret names without values', 'aws_secret_access_key='.repeat(MiB / 22)],
    ['token prefixes', 'ghp_sk-xoxb-npm_glpat-'.repeat(MiB / 22)],
    ['whitespace', ' \t'.repeat(MiB / 2)],
  ];

  it('has cases', () => {
    expect(adversarial.length).toBeGreaterThan(0);
  });

  it(
    'finishes on 1 MiB adversarial inputs and leaves no unredacted secret value',
    { timeout: 120_000 },
    () => {
      for (const [name, input] of adversarial) {
        const result = redactor.redact(input);
        expect(result.text, name).not.toContain('a'.repeat(40));
        expect(typeof result.redactions, name).toBe('number');
      }
    },
  );

  it('finishes on 16 MiB of ordinary output and changes none of it', { timeout: 120_000 }, () => {
    const line =
      'commit 3f786850e387550fdab836ed7e6dc881de23001b Author: Jane <jane@example.com> uuid 123e4567-e89b-12d3-a456-426614174000 src/app.ts:42\n';
    const text = line.repeat(Math.ceil((16 * MiB) / line.length)).slice(0, 16 * MiB);
    const result = redactor.redact(text);
    expect(result.redactions).toBe(0);
    expect(result.text).toBe(text);
  });
});
