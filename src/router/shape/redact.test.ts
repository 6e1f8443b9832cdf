import { describe, expect, it } from 'vitest';
import { createRedactor } from './redact.ts';
import { cases, keyBody, opensshKey, pemKey, pieces, t } from './redact-cases.ts';
import { secretPatterns } from './secret-patterns.ts';

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

describe('secret patterns: hints', () => {
  it('every match of every pattern over the cases holds one of its hints (a pattern is skipped without one)', () => {
    expect(secretPatterns.length).toBeGreaterThan(0);
    for (const { kind, pattern, hints } of secretPatterns) {
      expect(hints.length, kind).toBeGreaterThan(0);
      const caseless = pattern.flags.includes('i');
      if (caseless) for (const hint of hints) expect(hint, kind).toBe(hint.toLowerCase());
      let matched = 0;
      for (const c of cases) {
        for (const match of c.input.matchAll(new RegExp(pattern.source, pattern.flags))) {
          matched += 1;
          const seen = caseless ? match[0].toLowerCase() : match[0];
          expect(
            hints.some((hint) => seen.includes(hint)),
            `${kind}: ${match[0]}`,
          ).toBe(true);
        }
      }
      expect(matched, kind).toBeGreaterThan(0);
    }
  });
});
