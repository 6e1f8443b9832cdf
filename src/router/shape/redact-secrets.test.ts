import { describe, expect, it } from 'vitest';
import { MIN_SECRET_LENGTH, createRedactor } from './redact.ts';
import { thrownAirlockError } from '../../../test/support/airlock-errors.ts';
import { MiB } from './redact-cases.ts';

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
