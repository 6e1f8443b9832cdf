/**
 * People's access over real sockets: viewer and approver tokens, the dashboard's cookie sign-in with
 * its CSRF token, and what each may reach. Sandboxes are the in-memory test double: what is under test
 * is who may ask, not what runs.
 */
import { describe, expect, it } from 'vitest';
import { CSRF_HEADER, SESSION_COOKIE } from '../../src/server/index.ts';
import { approvalRecord, createdSession, runResult } from '../../src/server/schemas.ts';
import { createdAccessToken, signedIn } from '../../src/server/watch-schemas.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { call, errorCode, startTestServer } from './support.ts';
import type { TestServer } from './support.ts';

/** `touch` needs a person here, so a harmless command waits for one. */
const askForTouch = { router: { approvalRequiredFor: ['touch'] } };

async function memoryServer(config: Record<string, unknown> = askForTouch): Promise<TestServer> {
  return startTestServer({
    airlock: { drivers: { bwrap: createMemoryDriver() }, config, approvalPollIntervalMs: 20 },
  });
}

async function mint(server: TestServer, role: 'viewer' | 'approver', name: string = role): Promise<string> {
  const minted = await call(`${server.url}/v1/tokens`, server.adminToken, {
    method: 'POST',
    body: { role, name },
  });
  expect(minted.status).toBe(201);
  return createdAccessToken.parse(minted.body).token;
}

/** A session with one command waiting for a person. */
async function pendingApproval(server: TestServer): Promise<{ sessionId: string; approvalId: string }> {
  const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
  const session = createdSession.parse(created.body);
  const started = await call(`${server.url}/v1/sessions/${session.id}/commands`, session.token, {
    method: 'POST',
    body: { command: 'touch /workspace/approved', wait: false },
  });
  const result = runResult.parse(started.body);
  expect(result.status).toBe('pending_approval');
  return { sessionId: session.id, approvalId: result.approvalId ?? '' };
}

interface Browser {
  readonly cookie: string;
  readonly csrf: string;
  readonly setCookie: string;
}

/** Signs in as the dashboard does: the token in a JSON body, from the dashboard's own origin. */
async function signIn(server: TestServer, token: string): Promise<Browser> {
  const answer = await fetch(`${server.url}/v1/auth/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: server.url, 'sec-fetch-site': 'same-origin' },
    body: JSON.stringify({ token }),
  });
  expect(answer.status).toBe(200);
  const setCookie = answer.headers.get('set-cookie') ?? '';
  const body = signedIn.parse(await answer.json());
  return { cookie: setCookie.split(';')[0] ?? '', csrf: body.csrfToken ?? '', setCookie };
}

function withCookie(browser: Browser, extra: Record<string, string> = {}): Record<string, string> {
  return { cookie: browser.cookie, ...extra };
}

describe("people's tokens and the dashboard sign-in", () => {
  it('signs in with a token in the body for an HttpOnly, SameSite=Strict cookie that works on the API', async () => {
    const server = await memoryServer();
    const browser = await signIn(server, server.adminToken);
    expect(browser.setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[\\w-]{43}; `));
    expect(browser.setCookie).toContain('HttpOnly');
    expect(browser.setCookie).toContain('SameSite=Strict');
    // The cookie is a random id: neither the token nor anything derived from it.
    expect(browser.setCookie).not.toContain(server.adminToken);
    const me = await call(`${server.url}/v1/auth/session`, null, { headers: withCookie(browser) });
    expect(signedIn.parse(me.body)).toMatchObject({ role: 'admin', csrfToken: browser.csrf });
    const sessions = await call(`${server.url}/v1/sessions`, null, { headers: withCookie(browser) });
    expect(sessions.status).toBe(200);
  });

  it('refuses a change made with the cookie without the CSRF token, with a wrong one, or from another site', async () => {
    const server = await memoryServer();
    const { approvalId } = await pendingApproval(server);
    const browser = await signIn(server, server.adminToken);
    const decide = (headers: Record<string, string>) =>
      call(`${server.url}/v1/approvals/${approvalId}`, null, {
        method: 'POST',
        body: { decision: 'deny', reason: 'no' },
        headers: withCookie(browser, headers),
      });
    for (const headers of [
      {},
      { [CSRF_HEADER]: `${browser.csrf}x` },
      { [CSRF_HEADER]: browser.csrf, origin: 'http://evil.example' },
      { [CSRF_HEADER]: browser.csrf, 'sec-fetch-site': 'cross-site' },
    ]) {
      const refused = await decide(headers);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { code: 'FORBIDDEN', details: { reason: 'csrf' } } });
    }
    // Nothing was decided by the refused attempts.
    const still = await call(`${server.url}/v1/approvals/${approvalId}`, server.adminToken);
    expect(approvalRecord.parse(still.body).status).toBe('pending');
    const accepted = await decide({ [CSRF_HEADER]: browser.csrf, origin: server.url });
    expect(accepted.status).toBe(200);
    expect(approvalRecord.parse(accepted.body)).toMatchObject({
      status: 'denied',
      decidedBy: expect.stringMatching(/^api:admin:/),
    });
  });

  it('lets a viewer see but not decide, and an approver decide', async () => {
    const server = await memoryServer();
    const { approvalId, sessionId } = await pendingApproval(server);
    const viewer = await mint(server, 'viewer', 'bob');
    const approver = await mint(server, 'approver', 'alice');
    expect(viewer).toMatch(/^alk_viewer_/);

    for (const path of [
      '/v1/sessions',
      '/v1/approvals?status=pending',
      '/v1/audit',
      '/v1/audit/verify',
      '/v1/commands',
      `/v1/approvals/${approvalId}/context`,
    ]) {
      const seen = await call(`${server.url}${path}`, viewer);
      expect({ path, status: seen.status }).toEqual({ path, status: 200 });
    }
    const viewerDecides = await call(`${server.url}/v1/approvals/${approvalId}`, viewer, {
      method: 'POST',
      body: { decision: 'approve' },
    });
    expect(viewerDecides.status).toBe(403);
    expect(errorCode(viewerDecides.body)).toBe('FORBIDDEN');
    const viewerEnds = await call(`${server.url}/v1/sessions/${sessionId}`, viewer, { method: 'DELETE' });
    expect(viewerEnds.status).toBe(403);

    const approved = await call(`${server.url}/v1/approvals/${approvalId}`, approver, {
      method: 'POST',
      body: { decision: 'approve', reason: 'expected' },
    });
    expect(approved.status).toBe(200);
    expect(approvalRecord.parse(approved.body).decidedBy).toMatch(/^api:approver:tok_[0-9a-f]{16}$/);
  });

  it("keeps people's tokens off what agents and the admin do: sessions, commands, files, tokens, metrics, MCP", async () => {
    const server = await memoryServer();
    const { sessionId } = await pendingApproval(server);
    const approver = await mint(server, 'approver');
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/sessions', {}],
      ['POST', `/v1/sessions/${sessionId}/commands`, { command: 'echo hi' }],
      ['GET', `/v1/sessions/${sessionId}/files?path=/workspace/x`, undefined],
      ['POST', `/v1/sessions/${sessionId}/tokens`, undefined],
      ['POST', '/v1/tokens', { role: 'approver', name: 'escalation' }],
      ['GET', '/v1/tokens', undefined],
      ['GET', '/metrics', undefined],
    ];
    for (const [method, path, body] of attempts) {
      const refused = await call(`${server.url}${path}`, approver, {
        method,
        ...(body === undefined ? {} : { body }),
      });
      expect({ method, path, status: refused.status }).toEqual({ method, path, status: 403 });
    }
  });

  it('refuses to sign in a session token, an unknown token or a request from another site', async () => {
    const server = await memoryServer();
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const sessionToken = createdSession.parse(created.body).token;
    const attempt = (token: string, headers: Record<string, string> = {}) =>
      call(`${server.url}/v1/auth/session`, null, { method: 'POST', body: { token }, headers });
    expect((await attempt(sessionToken)).status).toBe(403);
    expect((await attempt('alk_viewer_not-a-real-token')).status).toBe(401);
    const crossSite = await attempt(server.adminToken, { origin: 'http://evil.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    // The token is read from the body only: one in the URL signs nobody in.
    const inUrl = await call(`${server.url}/v1/auth/session?token=${server.adminToken}`, null, {
      method: 'POST',
      body: {},
    });
    expect(inUrl.status).toBe(400);
  });

  it('signs a browser out, and a revoked token ends its sign-ins and its bearer use at once', async () => {
    const server = await memoryServer();
    const viewer = await mint(server, 'viewer');
    const first = await signIn(server, viewer);
    const second = await signIn(server, viewer);
    const signOut = await call(`${server.url}/v1/auth/session`, null, {
      method: 'DELETE',
      headers: withCookie(first, { [CSRF_HEADER]: first.csrf }),
    });
    expect(signOut.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await call(`${server.url}/v1/sessions`, null, { headers: withCookie(first) })).status).toBe(401);
    expect((await call(`${server.url}/v1/sessions`, null, { headers: withCookie(second) })).status).toBe(200);

    const listed = await call(`${server.url}/v1/tokens`, server.adminToken);
    const id = (listed.body as { tokens: { id: string }[] }).tokens[0]?.id ?? '';
    const revoked = await call(`${server.url}/v1/tokens/${id}`, server.adminToken, { method: 'DELETE' });
    expect(revoked.body).toMatchObject({ id, revokedBy: expect.stringMatching(/^api:admin:/) });
    expect((await call(`${server.url}/v1/sessions`, null, { headers: withCookie(second) })).status).toBe(401);
    expect((await call(`${server.url}/v1/sessions`, viewer)).status).toBe(401);
    const types = (
      await server.airlock.audit.list({ types: ['token.created', 'dashboard.signed_in', 'token.revoked'] })
    ).map((event) => event.type);
    expect(types).toEqual(['token.created', 'dashboard.signed_in', 'dashboard.signed_in', 'token.revoked']);
  });

  it('sends the cookie only to /v1 routes: /mcp and /metrics ask for a bearer token', async () => {
    const server = await startTestServer({
      airlock: { drivers: { bwrap: createMemoryDriver() } },
      mcp: true,
    });
    const browser = await signIn(server, server.adminToken);
    expect((await call(`${server.url}/metrics`, null, { headers: withCookie(browser) })).status).toBe(401);
    const mcp = await call(`${server.url}/mcp`, null, {
      method: 'POST',
      body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      headers: withCookie(browser, {
        [CSRF_HEADER]: browser.csrf,
        accept: 'application/json, text/event-stream',
      }),
    });
    expect(mcp.status).toBe(403);
  });
});
