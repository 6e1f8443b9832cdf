/**
 * Egress for people over real sockets: a session's connections through the real egress proxy (a
 * client on the session's socket stands in for the sandbox; the sandbox is the in-memory double), as
 * GET /v1/egress reports them, and an approver's grant of a refused host, which the proxy then lets
 * through, and its withdrawal. Viewers see; only approvers and the admin grant; agents do neither.
 */
import { describe, expect, it } from 'vitest';
import { egressList, egressOverview } from '../../src/server/egress-schemas.ts';
import { createdSession } from '../../src/server/schemas.ts';
import { CSRF_HEADER } from '../../src/server/index.ts';
import { createdAccessToken, signedIn } from '../../src/server/watch-schemas.ts';
import { auditList } from '../../src/server/audit-schemas.ts';
import { createMemoryDriver } from '../support/memory-driver/index.ts';
import { eventually } from '../support/eventually.ts';
import { httpUpstream, proxyGet, proxySocket } from '../support/egress-traffic.ts';
import { call, errorCode, startTestServer } from './support.ts';
import type { TestServer } from './support.ts';

async function egressServer(port: number): Promise<TestServer> {
  return startTestServer({
    airlock: {
      drivers: { bwrap: createMemoryDriver() },
      config: {
        sandbox: {
          network: {
            mode: 'allowlist',
            allow: [`api.example.test:${port}`],
            hosts: { 'api.example.test': '127.0.0.1', 'other.example.test': '127.0.0.1' },
          },
        },
      },
    },
  });
}

async function mint(server: TestServer, role: 'viewer' | 'approver'): Promise<string> {
  const minted = await call(`${server.url}/v1/tokens`, server.adminToken, {
    method: 'POST',
    body: { role, name: role },
  });
  return createdAccessToken.parse(minted.body).token;
}

async function overview(server: TestServer, token: string, sessionId: string) {
  const answer = await call(`${server.url}/v1/egress?sessionId=${sessionId}`, token);
  expect(answer.status).toBe(200);
  const [entry] = egressList.parse(answer.body).sessions;
  expect(entry?.sessionId).toBe(sessionId);
  return entry!;
}

describe('egress for people', () => {
  it("reports a session's connections and refused hosts; an approver's grant lets a refused host through until withdrawn", async () => {
    const upstream = await httpUpstream();
    const server = await egressServer(upstream.port);
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const session = createdSession.parse(created.body);
    const socket = proxySocket(server.home, session.id);
    const viewer = await mint(server, 'viewer');
    const approver = await mint(server, 'approver');

    expect((await proxyGet(socket, `http://api.example.test:${upstream.port}/ok`)).status).toBe(200);
    const refused = await proxyGet(socket, `http://other.example.test:${upstream.port}/no`);
    expect(refused.status).toBe(403);
    expect(
      await eventually(async () => {
        const seen = await overview(server, viewer, session.id);
        return seen.connections.allowed === 1 && seen.connections.refused === 1;
      }),
    ).toBe(true);
    const before = await overview(server, viewer, session.id);
    expect(before).toMatchObject({
      mode: 'allowlist',
      allow: [`api.example.test:${upstream.port}`],
      granted: [],
      refused: [{ host: 'other.example.test', port: upstream.port, reason: 'not_allowed', count: 1 }],
    });
    expect(before.bytesDown).toBeGreaterThan(0);

    // A viewer sees but cannot grant; nothing changed.
    const grant = { host: 'Other.Example.Test', port: upstream.port };
    const byViewer = await call(`${server.url}/v1/sessions/${session.id}/egress/grants`, viewer, {
      method: 'POST',
      body: grant,
    });
    expect(byViewer.status).toBe(403);
    expect((await proxyGet(socket, `http://other.example.test:${upstream.port}/still-no`)).status).toBe(403);

    const byApprover = await call(`${server.url}/v1/sessions/${session.id}/egress/grants`, approver, {
      method: 'POST',
      body: grant,
    });
    expect(byApprover.status).toBe(200);
    expect(egressOverview.parse(byApprover.body).granted).toEqual([`other.example.test:${upstream.port}`]);
    const through = await proxyGet(socket, `http://other.example.test:${upstream.port}/granted`);
    expect(through.status).toBe(200);
    expect(upstream.seen).toContain('/granted');

    const withdrawn = await call(
      `${server.url}/v1/sessions/${session.id}/egress/grants?host=other.example.test&port=${upstream.port}`,
      approver,
      { method: 'DELETE' },
    );
    expect(withdrawn.status).toBe(200);
    expect(egressOverview.parse(withdrawn.body).granted).toEqual([]);
    expect((await proxyGet(socket, `http://other.example.test:${upstream.port}/gone`)).status).toBe(403);

    // Both are in the audit log, with who did them.
    const audit = await call(`${server.url}/v1/audit?type=egress.granted,egress.grant_revoked`, viewer);
    const events = auditList.parse(audit.body).events;
    expect(events.map((event) => [event.type, event.sessionId, event.data['host']])).toEqual([
      ['egress.granted', session.id, 'other.example.test'],
      ['egress.grant_revoked', session.id, 'other.example.test'],
    ]);
    expect(events[0]?.data['decidedBy']).toMatch(/^api:approver:tok_/);
  });

  it("takes a grant made with the dashboard's cookie only with its CSRF token, from its own origin", async () => {
    const upstream = await httpUpstream();
    const server = await egressServer(upstream.port);
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const session = createdSession.parse(created.body);
    const approver = await mint(server, 'approver');
    const signedInAnswer = await fetch(`${server.url}/v1/auth/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ token: approver }),
    });
    const cookie = (signedInAnswer.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const csrf = signedIn.parse(await signedInAnswer.json()).csrfToken ?? '';
    const grant = (headers: Record<string, string>) =>
      call(`${server.url}/v1/sessions/${session.id}/egress/grants`, null, {
        method: 'POST',
        body: { host: 'other.example.test', port: upstream.port },
        headers: { cookie, ...headers },
      });
    for (const headers of [{}, { [CSRF_HEADER]: csrf, origin: 'http://evil.example' }]) {
      const refused = await grant(headers);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ error: { details: { reason: 'csrf' } } });
    }
    expect((await overview(server, server.adminToken, session.id)).granted).toEqual([]);
    const accepted = await grant({ [CSRF_HEADER]: csrf, origin: server.url });
    expect(accepted.status).toBe(200);
    expect(egressOverview.parse(accepted.body).granted).toEqual([`other.example.test:${upstream.port}`]);
  });

  it("refuses an agent's session token, a malformed host, and a session without a network", async () => {
    const upstream = await httpUpstream();
    const server = await egressServer(upstream.port);
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const session = createdSession.parse(created.body);
    // The agent cannot see egress, nor grant its own session a host.
    expect((await call(`${server.url}/v1/egress`, session.token)).status).toBe(403);
    const selfGrant = await call(`${server.url}/v1/sessions/${session.id}/egress/grants`, session.token, {
      method: 'POST',
      body: { host: 'evil.example', port: 443 },
    });
    expect(selfGrant.status).toBe(403);
    for (const host of ['evil.example/x', '127.1', 'a b.example', '']) {
      const bad = await call(`${server.url}/v1/sessions/${session.id}/egress/grants`, server.adminToken, {
        method: 'POST',
        body: { host, port: 443 },
      });
      expect({ host, code: errorCode(bad.body) }).toEqual({ host, code: 'INVALID_ARGUMENT' });
    }
    const offline = await call(`${server.url}/v1/sessions`, server.adminToken, {
      method: 'POST',
      body: { network: { mode: 'none' } },
    });
    const without = createdSession.parse(offline.body);
    const noNetwork = await call(`${server.url}/v1/sessions/${without.id}/egress/grants`, server.adminToken, {
      method: 'POST',
      body: { host: 'api.example.test', port: 443 },
    });
    expect(errorCode(noNetwork.body)).toBe('NOT_FOUND');
    const listed = egressList.parse((await call(`${server.url}/v1/egress`, server.adminToken)).body);
    expect(listed.sessions.map((entry) => entry.sessionId)).toEqual([session.id]);
  });
});
