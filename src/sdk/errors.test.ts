import { describe, expect, it } from 'vitest';
import { AirlockClient } from './client.ts';
import { AirlockApiError, clientErrorCodes, isAirlockApiError, serverErrorCodes } from './errors.ts';
import { SandboxSession } from './session.ts';
import { endlessBody, fakeFetch, hang, json } from './test-support.ts';
import { MAX_ERROR_BODY_BYTES, Transport } from './transport.ts';
import type { Handler } from './test-support.ts';

const TOKEN = 'alk_admin_secret-token-value';

function clientWith(
  handler: Handler,
  defaultTimeoutMs?: number,
): { client: AirlockClient; calls: () => number } {
  const fake = fakeFetch(handler);
  const client = new AirlockClient({
    url: 'http://127.0.0.1:7400',
    token: TOKEN,
    fetch: fake.fetch,
    ...(defaultTimeoutMs === undefined ? {} : { defaultTimeoutMs }),
  });
  return { client, calls: () => fake.requests.length };
}

async function failure(promise: Promise<unknown>): Promise<AirlockApiError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof AirlockApiError))
    throw new Error(`expected an AirlockApiError, got ${String(error)}`);
  return error;
}

describe('error mapping', () => {
  it('turns an Airlock error body into code, status, message and details', async () => {
    const { client } = clientWith(() =>
      json({ error: { code: 'RATE_LIMITED', message: 'slow down', details: { retryAfterMs: 1200 } } }, 429),
    );
    const error = await failure(client.sessions.get('ses_1'));
    expect(error).toMatchObject({
      name: 'AirlockApiError',
      code: 'RATE_LIMITED',
      status: 429,
      message: 'slow down',
      details: { retryAfterMs: 1200 },
      request: 'GET /v1/sessions/ses_1',
    });
    expect(isAirlockApiError(error, 'RATE_LIMITED')).toBe(true);
    expect(isAirlockApiError(error, 'NOT_FOUND')).toBe(false);
  });

  it('keeps an unknown code from a newer server as it is', async () => {
    const { client } = clientWith(() => json({ error: { code: 'SOMETHING_NEW', message: 'new' } }, 418));
    expect((await failure(client.health())).code).toBe('SOMETHING_NEW');
  });

  it('gives a clear HTTP_ERROR for a non-JSON error body (a proxy page), with the status and a snippet', async () => {
    const page = `<html><body><h1>502 Bad Gateway</h1>${'x'.repeat(1000)}</body></html>`;
    const { client } = clientWith(
      () =>
        new Response(page, {
          status: 502,
          statusText: 'Bad Gateway',
          headers: { 'content-type': 'text/html' },
        }),
    );
    const error = await failure(client.approvals.list());
    expect(error.code).toBe('HTTP_ERROR');
    expect(error.status).toBe(502);
    expect(error.message).toMatch(/^GET \/v1\/approvals answered HTTP 502 Bad Gateway .*502 Bad Gateway/);
    expect(error.message.length).toBeLessThan(400);
    expect(error.details.contentType).toBe('text/html');
  });

  it('treats JSON that is not an error envelope as HTTP_ERROR too', async () => {
    const { client } = clientWith(() => json({ message: 'nope' }, 500));
    const error = await failure(client.health());
    expect([error.code, error.status]).toEqual(['HTTP_ERROR', 500]);
  });

  it('reads Retry-After when a rate limit comes without a body', async () => {
    const { client } = clientWith(() => new Response('', { status: 429, headers: { 'retry-after': '3' } }));
    const error = await failure(client.health());
    expect(error.details.retryAfterMs).toBe(3000);
  });

  it('raises INVALID_RESPONSE for a 2xx answer that is not JSON', async () => {
    const { client } = clientWith(
      () => new Response('<html>ok</html>', { status: 200, headers: { 'content-type': 'text/html' } }),
    );
    const error = await failure(client.health());
    expect([error.code, error.status]).toEqual(['INVALID_RESPONSE', 200]);
    expect(error.message).toContain('text/html');
  });

  it('raises CONNECTION_FAILED with status 0 when fetch itself fails, keeping the cause', async () => {
    const refused = new TypeError('fetch failed');
    const { client } = clientWith(() => Promise.reject(refused));
    const error = await failure(client.health());
    expect([error.code, error.status]).toEqual(['CONNECTION_FAILED', 0]);
    expect(error.cause).toBe(refused);
  });

  it('raises CONNECTION_FAILED when the body breaks off mid-read', async () => {
    const { client } = clientWith(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"status":'));
          controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    });
    expect((await failure(client.health())).code).toBe('CONNECTION_FAILED');
  });

  it('raises TIMEOUT when timeoutMs elapses, and the request signal is aborted', async () => {
    const { client } = clientWith(hang);
    const started = Date.now();
    const error = await failure(client.sessions.list({ timeoutMs: 50 }));
    expect([error.code, error.status]).toEqual(['TIMEOUT', 0]);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('applies the client default timeout to calls that answer at once, but not to a waiting run', async () => {
    const { client } = clientWith(hang, 30);
    expect((await failure(client.health())).code).toBe('TIMEOUT');
    const transport = new Transport({
      baseUrl: 'http://h',
      token: TOKEN,
      fetch: fakeFetch(hang).fetch,
      defaultTimeoutMs: 30,
    });
    const controller = new AbortController();
    const run = failure(
      new SandboxSession(transport, { id: 'ses_1' }).run('sleep 1', { signal: controller.signal }),
    );
    const first = await Promise.race([
      run,
      new Promise((resolve) => setTimeout(() => resolve('waiting'), 150)),
    ]);
    // A run waits for the command (and maybe a person): only the caller's own bound stops it.
    expect(first).toBe('waiting');
    controller.abort();
    expect((await run).code).toBe('ABORTED');
  });

  it("raises ABORTED when the caller's signal fires, keeping the caller's reason as cause", async () => {
    const { client } = clientWith(hang);
    const controller = new AbortController();
    const pending = failure(client.approvals.get('apr_1', { signal: controller.signal }));
    controller.abort(new Error('user left'));
    const error = await pending;
    expect(error.code).toBe('ABORTED');
    expect((error.cause as Error).message).toBe('user left');
  });

  it('does not send a request whose signal is already aborted', async () => {
    const { client, calls } = clientWith(() => json({}));
    const error = await failure(client.health({ signal: AbortSignal.abort() }));
    expect(error.code).toBe('ABORTED');
    expect(calls()).toBe(0);
  });

  it('refuses a negative or non-finite timeoutMs before sending', async () => {
    const { client, calls } = clientWith(() => json({}));
    for (const timeoutMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect((await failure(client.health({ timeoutMs }))).code).toBe('INVALID_ARGUMENT');
    }
    expect(calls()).toBe(0);
  });

  it('never puts the token into an error (adversarial: the server echoes the Authorization header)', async () => {
    const { client } = clientWith(
      (request) => new Response(`bad header ${request.headers.get('authorization') ?? ''}`, { status: 400 }),
    );
    const error = await failure(client.sessions.list());
    expect(error.code).toBe('HTTP_ERROR');
    expect(error.message).toContain('bad header Bearer');
    expect(JSON.stringify({ ...error.toJSON(), request: error.request })).not.toContain(TOKEN);
    expect(error.message).not.toContain(TOKEN);
  });

  it('reads at most MAX_ERROR_BODY_BYTES of an error body and cancels the rest (adversarial: endless body)', async () => {
    const chunk = 'y'.repeat(1024);
    const endless = endlessBody(chunk, 10_000);
    const { client } = clientWith(
      () => new Response(endless.body, { status: 502, headers: { 'content-type': 'text/html' } }),
    );
    const error = await failure(client.sessions.list());
    expect([error.code, error.status]).toEqual(['HTTP_ERROR', 502]);
    expect(error.message).toContain('yyyy');
    expect(endless.state.cancelled).toBe(true);
    // The stream reads ahead by a chunk or two; never the 10 MiB the server offered.
    expect(endless.state.chunksRead * chunk.length).toBeLessThanOrEqual(
      MAX_ERROR_BODY_BYTES + 3 * chunk.length,
    );
  });

  it('still reads a whole Airlock error envelope that carries a long path twice', async () => {
    const path = `/${'p'.repeat(4095)}`;
    const { client } = clientWith(() =>
      json(
        {
          error: {
            code: 'PATH_OUTSIDE_SANDBOX',
            message: `${JSON.stringify(path)} is outside the sandbox`,
            details: { path },
          },
        },
        403,
      ),
    );
    const error = await failure(client.sessions.list());
    expect([error.code, error.details['path']]).toEqual(['PATH_OUTSIDE_SANDBOX', path]);
  });

  it("bounds start() by the client's default timeout (it answers at once), while run() waits", async () => {
    const transport = new Transport({
      baseUrl: 'http://h',
      token: TOKEN,
      fetch: fakeFetch(hang).fetch,
      defaultTimeoutMs: 30,
    });
    const session = new SandboxSession(transport, { id: 'ses_1' });
    expect((await failure(session.start('make'))).code).toBe('TIMEOUT');
    // requestTimeoutMs replaces the default for this call.
    const started = Date.now();
    expect((await failure(session.start('make', { requestTimeoutMs: 200 }))).code).toBe('TIMEOUT');
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('keeps the code tables free of duplicates', () => {
    expect(new Set(serverErrorCodes).size).toBe(serverErrorCodes.length);
    expect(Object.keys(clientErrorCodes).length).toBeGreaterThan(0);
  });
});
