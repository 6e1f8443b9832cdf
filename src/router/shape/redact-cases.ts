/**
 * Examples of every token format the redactor knows, for its tests: a table, assembled at run time.
 */
// Tokens are assembled at run time so this file holds no literal that secret scanners (GitHub push
// protection, gitleaks) would flag; each has the exact shape of the real thing.
export const t = {
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

export const keyBody = [
  'MIIEowIBAAKCAQEA7x2',
  'kQ9mL4vN8pW3sY6zA1bC5dE0fG2hJ4kR7tK2mQ9xL4vN8pW3sY6zA1bC5dE0fG2hJ4k',
].join('');
export const pemKey = [
  '-----BEGIN RSA PRIVATE KEY-----',
  keyBody,
  'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0F9e8D7c6B5a4',
  '-----END RSA PRIVATE KEY-----',
].join('\n');
export const opensshKey = [
  '-----BEGIN OPENSSH PRIVATE KEY-----',
  'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW',
  '-----END OPENSSH PRIVATE KEY-----',
].join('\n');

export interface Case {
  readonly name: string;
  readonly kind: string;
  /** The secret part: no 8-character piece of it may survive. */
  readonly secret: string;
  readonly input: string;
  /** Text around the secret that must survive. */
  readonly keeps: readonly string[];
}

export const cases: Case[] = [
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
export function pieces(secret: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 8 <= secret.length; i += 1) out.push(secret.slice(i, i + 8));
  return out;
}

export const MiB = 1024 * 1024;
