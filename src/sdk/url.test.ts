import { describe, expect, it } from 'vitest';
import { AirlockClient } from './client.ts';
import { isAirlockApiError } from './errors.ts';
import { fakeFetch, json } from './test-support.ts';
import { buildUrl, encodeSegment, normalizeBaseUrl } from './url.ts';

describe('request URLs', () => {
  it('encodes each path segment on its own, so an id cannot add a level, a query or a fragment', () => {
    expect(buildUrl('http://h', ['v1', 'sessions', 'a/b?c=d#e f'])).toBe(
      'http://h/v1/sessions/a%2Fb%3Fc%3Dd%23e%20f',
    );
    expect(buildUrl('http://h', ['v1', 'outputs', 'out_é'])).toBe('http://h/v1/outputs/out_%C3%A9');
    // A colon stays: method-style routes (`commands:check`) are matched on it.
    expect(buildUrl('http://h', ['v1', 'sessions', 's1', 'commands:check'])).toBe(
      'http://h/v1/sessions/s1/commands:check',
    );
  });

  it('refuses empty, "." and ".." segments that URL parsing would collapse into another route', () => {
    const cases = ['', '.', '..'];
    expect(cases.length).toBeGreaterThan(0);
    for (const segment of cases) {
      let caught: unknown;
      try {
        encodeSegment(segment);
      } catch (error) {
        caught = error;
      }
      expect(isAirlockApiError(caught, 'INVALID_ARGUMENT'), JSON.stringify(segment)).toBe(true);
    }
    // Only whole dot segments are special: these are ordinary ids once encoded.
    expect(encodeSegment('...')).toBe('...');
    expect(encodeSegment('%2e%2e')).toBe('%252e%252e');
  });

  it('sends no request at all for a ".." id (adversarial: would reach /v1/sessions instead)', async () => {
    const fake = fakeFetch(() => json({}));
    const client = new AirlockClient({ url: 'http://h', token: 't', fetch: fake.fetch });
    const error = await client.sessions.destroy('..').catch((e: unknown) => e);
    expect(isAirlockApiError(error, 'INVALID_ARGUMENT')).toBe(true);
    expect(fake.requests).toHaveLength(0);
  });

  it('puts query values through URLSearchParams, leaving out undefined and joining lists with commas', () => {
    const url = new URL(
      buildUrl('http://h', ['v1', 'audit'], {
        afterSeq: 5,
        sessionId: undefined,
        type: ['command.decided', 'approval.decided'],
        path: '/workspace/a b&c=d',
        wait: false,
      }),
    );
    expect([...url.searchParams]).toEqual([
      ['afterSeq', '5'],
      ['type', 'command.decided,approval.decided'],
      ['path', '/workspace/a b&c=d'],
      ['wait', 'false'],
    ]);
    expect(buildUrl('http://h', ['healthz'], {})).toBe('http://h/healthz');
  });

  it('keeps a base path and drops trailing slashes of the base URL', () => {
    expect(normalizeBaseUrl('https://example.com/airlock/')).toBe('https://example.com/airlock');
    expect(normalizeBaseUrl('http://127.0.0.1:7400')).toBe('http://127.0.0.1:7400');
    expect(normalizeBaseUrl(new URL('http://localhost:1/x//'))).toBe('http://localhost:1/x');
  });

  it('refuses a base URL that is relative, not http(s), or carries a query', () => {
    const cases = ['127.0.0.1:7400/x', 'ftp://h', 'file:///tmp/x', 'http://h/?token=x', 'http://h/#x'];
    expect(cases.length).toBeGreaterThan(0);
    for (const url of cases) {
      expect(() => new AirlockClient({ url, fetch: fakeFetch(() => json({})).fetch }), url).toThrow(/url/);
    }
  });

  it('builds file URLs with the path as a query value, not as path segments', async () => {
    const fake = fakeFetch(() => json({ entries: [] }));
    const client = new AirlockClient({ url: 'http://h/base/', token: 't', fetch: fake.fetch });
    const session = await client.sessions.connect('ses 1');
    await session.files.list('/workspace/../etc');
    const listed = fake.requests.at(-1)?.url;
    expect(listed?.pathname).toBe('/base/v1/sessions/ses%201/files/list');
    expect(listed?.searchParams.get('path')).toBe('/workspace/../etc');
  });
});
