/**
 * The dashboard behind a reverse proxy that terminates TLS: with `server.trustProxy` the proxy's
 * X-Forwarded-Proto and -Host make the session cookie Secure and the sign-in accept the public origin;
 * without it (the default) the same headers, which any client can send, change nothing.
 */
import { describe, expect, it } from 'vitest';
import { CSRF_HEADER } from '../../src/server/index.ts';
import { signedIn } from '../../src/server/watch-schemas.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { startTestServer } from './support.ts';
import type { TestServer } from './support.ts';

async function memoryServer(
  trustProxy: boolean | undefined,
  server: Record<string, unknown> = {},
): Promise<TestServer> {
  return startTestServer({
    airlock: {
      drivers: { bwrap: createMemoryDriver() },
      config: { server: { ...server, ...(trustProxy === undefined ? {} : { trustProxy }) } },
    },
  });
}

/** A request with a token nobody issued, from the client X-Forwarded-For names. */
async function guess(server: TestServer, client: string): Promise<number> {
  const answer = await fetch(`${server.url}/v1/sessions`, {
    headers: { authorization: 'Bearer alk_admin_guessed', 'x-forwarded-for': client },
  });
  await answer.body?.cancel();
  return answer.status;
}

/** A sign-in as a browser at https://airlock.example sends it, through a proxy that adds its headers. */
function signInThroughProxy(server: TestServer, forwarded: Record<string, string>) {
  return fetch(`${server.url}/v1/auth/session`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      origin: 'https://airlock.example',
      'sec-fetch-site': 'same-origin',
      ...forwarded,
    },
    body: JSON.stringify({ token: server.adminToken }),
  });
}

const PROXY_HEADERS = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'airlock.example' };

describe('server.trustProxy', () => {
  it("behind a trusted TLS proxy, signs in from the proxy's public origin with a Secure cookie", async () => {
    const server = await memoryServer(true);
    const answer = await signInThroughProxy(server, PROXY_HEADERS);
    expect(answer.status).toBe(200);
    const cookie = answer.headers.get('set-cookie') ?? '';
    expect(cookie.split('; ')).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Secure']));
    // Signing out clears it with the same attributes, so the browser replaces the Secure cookie.
    const session = cookie.split(';')[0] ?? '';
    const csrf = signedIn.parse(await answer.json()).csrfToken ?? '';
    const signedOut = await fetch(`${server.url}/v1/auth/session`, {
      method: 'DELETE',
      headers: { cookie: session, origin: 'https://airlock.example', [CSRF_HEADER]: csrf, ...PROXY_HEADERS },
    });
    expect(signedOut.status).toBe(200);
    expect(signedOut.headers.get('set-cookie')?.split('; ')).toEqual(
      expect.arrayContaining(['Max-Age=0', 'Secure']),
    );
  });

  it('behind a trusted proxy that forwards plain HTTP, the cookie is not Secure', async () => {
    const server = await memoryServer(true);
    const answer = await fetch(`${server.url}/v1/auth/session`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: 'http://airlock.example',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'airlock.example',
      },
      body: JSON.stringify({ token: server.adminToken }),
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('set-cookie')?.split('; ')).not.toContain('Secure');
  });

  it('by default ignores X-Forwarded-* a client sends: no Secure cookie, no borrowed origin', async () => {
    for (const setting of [undefined, false]) {
      const server = await memoryServer(setting);
      // A page on another origin claiming, through forged headers, to be the server's own.
      const forged = await signInThroughProxy(server, PROXY_HEADERS);
      expect(forged.status).toBe(403);
      expect(await forged.json()).toMatchObject({
        error: { code: 'FORBIDDEN', details: { reason: 'csrf' } },
      });
      // From the server's real origin the sign-in works, and the header does not make the cookie Secure.
      const direct = await fetch(`${server.url}/v1/auth/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: server.url, 'x-forwarded-proto': 'https' },
        body: JSON.stringify({ token: server.adminToken }),
      });
      expect(direct.status).toBe(200);
      const cookie = direct.headers.get('set-cookie') ?? '';
      expect(cookie).toContain('HttpOnly');
      expect(cookie.split('; ')).not.toContain('Secure');
    }
  });

  it('trusts only the nearest hop: a client cannot prepend its own protocol', async () => {
    const server = await memoryServer(true);
    // The client said https; the proxy (the last entry) says http. The proxy's word counts.
    const answer = await signInThroughProxy(server, {
      'x-forwarded-proto': 'https, http',
      'x-forwarded-host': 'airlock.example',
    });
    expect(answer.status).toBe(403);
  });

  it("counts failed attempts per client behind a trusted proxy, and ignores a client's X-Forwarded-For without one", async () => {
    const behind = await memoryServer(true, { rateLimit: '3/min' });
    const attempts = [];
    for (let index = 0; index < 4; index += 1) attempts.push(await guess(behind, '203.0.113.7'));
    expect(attempts).toEqual([401, 401, 401, 429]);
    // A client cannot slip out of its bucket by sending its own X-Forwarded-For: the proxy appends the
    // address it saw, and only that last entry counts.
    expect(await guess(behind, '198.51.100.1, 203.0.113.7')).toBe(429);
    // Another client behind the same proxy has its own bucket.
    expect(await guess(behind, '203.0.113.8')).toBe(401);

    // Without trustProxy the header is the client's say-so: every guess counts against its address.
    const direct = await memoryServer(undefined, { rateLimit: '3/min' });
    const forged = [];
    for (let index = 0; index < 4; index += 1) forged.push(await guess(direct, `203.0.113.${index}`));
    expect(forged).toEqual([401, 401, 401, 429]);
  });
});
