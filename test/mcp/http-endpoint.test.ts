/**
 * MCP over streamable HTTP through the real server: Fastify on 127.0.0.1 authenticating real bearer
 * tokens (the admin token, session tokens from POST /v1/sessions) and mounting `/mcp`, the official
 * streamable HTTP client, real SQLite and real bwrap sandboxes. A person decides approvals as a
 * second client would, over the REST API with the admin token.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { OAuthClientProvider } from '@modelcontextprotocol/sdk/client/auth.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../../src/errors/index.ts';
import { createAirlockMcpServer, createMcpHttpEndpoint, lazySession } from '../../src/mcp/index.ts';
import type { McpHttpEndpoint, McpHttpEndpointOptions, McpPrincipal } from '../../src/mcp/index.ts';
import { createdSession } from '../../src/server/schemas.ts';
import { call, errorCode, startTestServer } from '../api/support.ts';
import type { TestServer } from '../api/support.ts';
import { eventually, openAirlock } from '../control-plane/support.ts';
import { approvalIdIn, callTool, factsOf, storedSession, textOf } from './support.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

/**
 * `touch` and file writes wait for a person; outputs are cut at the smallest size allowed, so paging
 * is easy to reach; the per-session command rate stays out of the way. The policy is the default one.
 */
const config = {
  router: { approvalRequiredFor: ['touch', 'write_file'], output: { maxChars: 200 }, rateLimit: '1000/min' },
};

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function serve(mcp: Omit<McpHttpEndpointOptions, 'airlock'> = {}): Promise<TestServer> {
  return startTestServer({ airlock: { config }, mcp: { progressIntervalMs: 100, ...mcp } });
}

/** A session made over the REST API, with the token scoped to it. */
async function newSession(
  server: TestServer,
  body: Record<string, unknown> = {},
): Promise<{ id: string; token: string }> {
  const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body });
  expect(created.status).toBe(201);
  const { id, token } = createdSession.parse(created.body);
  return { id, token };
}

async function connect(server: TestServer, token: string) {
  const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'airlock-http-test', version: '0.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport, mcpSessionId: transport.sessionId ?? '' };
}

/** One raw MCP request, as a client without the SDK would send it. */
function mcpRequest(
  server: TestServer,
  token: string | null,
  init: { method?: string; body?: unknown; mcpSessionId?: string } = {},
): Promise<Response> {
  return fetch(`${server.url}/mcp`, {
    method: init.method ?? 'POST',
    headers: {
      ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      accept: 'application/json, text/event-stream',
      ...(init.mcpSessionId === undefined ? {} : { 'mcp-session-id': init.mcpSessionId }),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};
const listTools = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };

/** Whether the server still knows this MCP session, asked as its owner would (which counts as use). */
async function mcpSessionOpen(server: TestServer, token: string, mcpSessionId: string): Promise<boolean> {
  const response = await mcpRequest(server, token, { body: listTools, mcpSessionId });
  await response.body?.cancel();
  return response.status !== 404;
}

/**
 * Call options that approve, over the REST API with the admin token, every request the call's
 * progress names — a person at another client while the tool call waits.
 */
function approvingOverRest(server: TestServer) {
  const progress: Progress[] = [];
  const decisions = new Map<string, Promise<{ status: number; body: unknown }>>();
  const options: RequestOptions = {
    onprogress: (update) => {
      progress.push(update);
      const approvalId = approvalIdIn(update.message ?? '');
      if (approvalId === null || decisions.has(approvalId)) return;
      decisions.set(
        approvalId,
        call(`${server.url}/v1/approvals/${approvalId}`, server.adminToken, {
          method: 'POST',
          body: { decision: 'approve' },
        }),
      );
    },
  };
  return { options, progress, decided: () => Promise.all(decisions.values()) };
}

/**
 * The endpoint alone behind a bare node:http server on 127.0.0.1, every request as `principal`;
 * `afterHandle` runs once each request has been handed to the endpoint.
 */
async function bareEndpoint(
  endpoint: McpHttpEndpoint,
  principal: McpPrincipal,
  afterHandle: () => void = () => undefined,
): Promise<string> {
  const handling: Array<Promise<void>> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body: unknown = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString());
      handling.push(endpoint.handle(req, res, body, principal));
      afterHandle();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    await endpoint.close();
    await Promise.allSettled(handling);
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function rawInitialize(url: string): Promise<Response> {
  return fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify(initialize),
  });
}

function expectPathRefused(result: CallToolResult, what: string): void {
  expect(result.isError, what).toBe(true);
  expect(textOf(result), what).toMatch(/^error PATH_OUTSIDE_SANDBOX: /);
  expect(result._meta?.['airlock/error'], what).toMatchObject({ code: 'PATH_OUTSIDE_SANDBOX' });
}

describe('the MCP endpoint on its own', () => {
  it('refuses a bad option when it is made, not at the first initialize', async () => {
    const { airlock } = await openAirlock();
    const bad = [0, 1.5, -10, Number.NaN];
    expect(bad.length).toBeGreaterThan(0);
    for (const progressIntervalMs of bad) {
      for (const make of [
        () => createMcpHttpEndpoint({ airlock, progressIntervalMs }),
        () => createAirlockMcpServer({ airlock, session: lazySession(airlock), progressIntervalMs }),
      ]) {
        const error = (() => {
          try {
            make();
            return null;
          } catch (thrown) {
            return thrown;
          }
        })();
        expect(isAirlockError(error) && error.code, String(progressIntervalMs)).toBe('INVALID_ARGUMENT');
        expect(isAirlockError(error) && error.details, String(progressIntervalMs)).toMatchObject({
          field: 'progressIntervalMs',
        });
      }
    }
  });

  it('answers SERVER_STOPPING (503) once it is closed', async () => {
    const { airlock } = await openAirlock();
    const endpoint = createMcpHttpEndpoint({ airlock });
    const url = await bareEndpoint(endpoint, { kind: 'admin' });
    await endpoint.close();
    const refused = await rawInitialize(url);
    expect(refused.status).toBe(503);
    expect(errorCode(await refused.json())).toBe('SERVER_STOPPING');
  });
});

describe.skipIf(bwrapMissing)('the MCP endpoint shutting down while an initialize arrives', () => {
  it("opens nothing for a session token's initialize that close() overtook", async () => {
    const { airlock } = await openAirlock();
    const session = await airlock.sessions.create();
    const endpoint = createMcpHttpEndpoint({ airlock });
    let closing: Promise<void> | null = null;
    // close() starts while the initialize is still checking the session is live.
    const url = await bareEndpoint(endpoint, { kind: 'session', sessionId: session.id }, () => {
      closing ??= endpoint.close();
    });
    const response = await rawInitialize(url);
    await closing;
    expect(response.status).toBe(503);
    expect(errorCode(await response.json())).toBe('SERVER_STOPPING');
    expect(endpoint.sessionCount()).toBe(0);
  });

  it("answers an admin's initialize that close() overtook as stopping, and keeps nothing of it", async () => {
    const { airlock } = await openAirlock();
    const endpoint = createMcpHttpEndpoint({ airlock });
    let closing: Promise<void> | null = null;
    const url = await bareEndpoint(endpoint, { kind: 'admin' }, () => {
      closing ??= endpoint.close();
    });
    const response = await rawInitialize(url);
    await closing;
    expect(response.status).toBe(503);
    expect(errorCode(await response.json())).toBe('SERVER_STOPPING');
    expect(endpoint.sessionCount()).toBe(0);
    expect(await airlock.sessions.list({ state: 'active' })).toEqual([]);
  });
});

describe.skipIf(bwrapMissing)('MCP over streamable HTTP on the real server', () => {
  it('refuses a missing, malformed or unknown token with a 403 carrying the server\u2019s message, and no challenge', async () => {
    const server = await serve();
    const ended = await newSession(server);
    expect(
      (await call(`${server.url}/v1/sessions/${ended.id}`, server.adminToken, { method: 'DELETE' })).status,
    ).toBe(200);

    for (const token of [null, 'admin', `session:${ended.id}`, ended.token]) {
      const refused = await mcpRequest(server, token, { body: initialize });
      expect(refused.status, String(token)).toBe(403);
      expect(refused.headers.get('www-authenticate'), String(token)).toBeNull();
      expect(errorCode(await refused.json()), String(token)).toBe('UNAUTHENTICATED');
    }
    const malformed = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { authorization: 'Basic eA==' },
    });
    expect(malformed.status).toBe(403);
    expect(errorCode(await malformed.json())).toBe('UNAUTHENTICATED');
    expect(await server.airlock.sessions.list({ state: 'active' })).toEqual([]);
    // The REST API keeps the standard challenge: only /mcp answers this way.
    const rest = await call(`${server.url}/v1/sessions`, null, {});
    expect(rest.status).toBe(401);
  });

  it('shows its message through the official client, even one that can log in with OAuth', async () => {
    const server = await serve();
    const requested: string[] = [];
    const loginAttempts: string[] = [];
    const authProvider: OAuthClientProvider = {
      redirectUrl: 'http://127.0.0.1:1/callback',
      clientMetadata: { redirect_uris: ['http://127.0.0.1:1/callback'], client_name: 'test' },
      clientInformation: () => undefined,
      tokens: () => undefined,
      saveTokens: () => undefined,
      redirectToAuthorization: (url) => {
        loginAttempts.push(String(url));
      },
      saveCodeVerifier: () => undefined,
      codeVerifier: () => '',
    };
    const cases = [
      { name: 'an OAuth-capable client without a token', options: { authProvider } },
      {
        name: 'a client with an unknown token',
        options: { requestInit: { headers: { authorization: 'Bearer alk_not_a_token' } } },
      },
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const { name, options } of cases) {
      const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
        ...options,
        fetch: (url, init) => {
          requested.push(new URL(url).pathname);
          return fetch(url, init);
        },
      });
      const client = new Client({ name: 'airlock-http-test', version: '0.0.0' });
      const failure = await client.connect(transport).then(
        () => null,
        (error: unknown) => error,
      );
      expect(String(failure), name).toMatch(/UNAUTHENTICATED/);
      expect(String(failure), name).toMatch(/bearer token|unknown token/);
    }
    // No protected-resource or authorization-server discovery, no login page.
    expect(requested.every((path) => path === '/mcp')).toBe(true);
    expect(loginAttempts).toEqual([]);
  });

  it('shuts down promptly with an MCP client connected, ending the session it made', async () => {
    const server = await serve();
    const { client } = await connect(server, server.adminToken);
    const sessionId = String(factsOf(await callTool(client, 'session_info'))['sessionId']);
    expect((await mcpRequest(server, null, { body: initialize })).status).toBe(403);
    const closing = Date.now();
    await server.server.close();
    // Neither the client's open event stream nor a refused request's half-read body keeps the
    // shutdown waiting for a keep-alive timeout (4 s).
    expect(Date.now() - closing).toBeLessThan(2000);
    expect(await storedSession(server.home, sessionId)).toMatchObject({ state: 'ended' });
  });

  it('gives an admin connection its own session, made on the first tool call and ended by DELETE', async () => {
    const server = await serve();
    const { client, transport, mcpSessionId } = await connect(server, server.adminToken);
    await client.listTools();
    expect(await server.airlock.sessions.list({ state: 'active' })).toEqual([]);

    const result = await callTool(client, 'run_command', { command: 'echo hi' });
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(textOf(result)).toContain('hi');
    const sessionId = String(factsOf(result)['sessionId']);
    const active = await server.airlock.sessions.list({ state: 'active' });
    expect(active.map((session) => session.id)).toEqual([sessionId]);

    await transport.terminateSession();
    expect(await server.airlock.sessions.info(sessionId)).toMatchObject({
      state: 'ended',
      endReason: 'destroyed on request',
    });
    expect(await mcpSessionOpen(server, server.adminToken, mcpSessionId)).toBe(false);
  });

  it('streams progress while a command waits for approval, then returns its result', async () => {
    const server = await serve();
    const { client } = await connect(server, server.adminToken);
    const person = approvingOverRest(server);
    const result = await callTool(
      client,
      'run_command',
      { command: 'touch made.txt && echo ok' },
      person.options,
    );
    const [decision] = await person.decided();
    expect(decision).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect(person.progress[0]?.message).toContain('airlock approvals approve apr_');
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0, decision: 'ask' });
    expect(factsOf(result)['approvalId']).toBe(approvalIdIn(person.progress[0]?.message ?? ''));
    expect(textOf(result)).toContain('ok');
  });

  it('waits for approval of a file write, with progress naming the request', async () => {
    const server = await serve();
    const { client } = await connect(server, server.adminToken);
    const progress: Progress[] = [];
    let approving: Promise<unknown> | null = null;
    const written = await callTool(
      client,
      'write_file',
      { path: 'approved.txt', content: 'yes' },
      {
        onprogress: (update) => {
          progress.push(update);
          const approvalId = approvalIdIn(update.message ?? '');
          if (approvalId !== null)
            approving ??= server.airlock.approvals.approve(approvalId, { decidedBy: 'test' });
        },
      },
    );
    await approving;
    expect(progress.length).toBeGreaterThan(0);
    expect(factsOf(written)).toMatchObject({ status: 'completed', bytes: 3 });
    expect(textOf(written)).toMatch(/^a person approved it/);
    expect(textOf(await callTool(client, 'read_file', { path: 'approved.txt' }))).toBe('yes');
  });

  it('binds a session token to its own session and never ends it', async () => {
    const server = await serve();
    const session = await newSession(server);
    const { client, transport } = await connect(server, session.token);
    expect(factsOf(await callTool(client, 'session_info'))['sessionId']).toBe(session.id);
    await transport.terminateSession();
    expect(await server.airlock.sessions.info(session.id)).toMatchObject({ state: 'active' });

    // A token minted later for the same session reaches the same sandbox.
    const minted = await call(`${server.url}/v1/sessions/${session.id}/tokens`, server.adminToken, {
      method: 'POST',
    });
    expect(minted.status).toBe(201);
    const again = await connect(server, (minted.body as { token: string }).token);
    expect(factsOf(await callTool(again.client, 'session_info'))['sessionId']).toBe(session.id);
    expect(await server.airlock.sessions.list({ state: 'active' })).toHaveLength(1);
  });

  it('refuses an MCP session id to any principal but the one that opened it', async () => {
    const server = await serve();
    const { client, mcpSessionId } = await connect(server, server.adminToken);
    expect(mcpSessionId).not.toBe('');
    const other = await newSession(server);

    const stolen = await mcpRequest(server, other.token, { body: listTools, mcpSessionId });
    expect(stolen.status).toBe(404);
    expect(errorCode(await stolen.json())).toBe('NOT_FOUND');
    const deleted = await mcpRequest(server, other.token, { method: 'DELETE', mcpSessionId });
    expect(deleted.status).toBe(404);
    expect(errorCode(await deleted.json())).toBe('NOT_FOUND');
    // The owner's MCP session is untouched.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);

    // The other way round as well: an admin does not get a session token's MCP session.
    const agent = await connect(server, other.token);
    const taken = await mcpRequest(server, server.adminToken, {
      body: listTools,
      mcpSessionId: agent.mcpSessionId,
    });
    expect(taken.status).toBe(404);
    expect(errorCode(await taken.json())).toBe('NOT_FOUND');
  });

  it('answers requests that are not MCP-session requests with a JSON error', async () => {
    const server = await serve();
    const noSession = await mcpRequest(server, server.adminToken, { body: listTools });
    expect(noSession.status).toBe(400);
    expect(errorCode(await noSession.json())).toBe('INVALID_ARGUMENT');
    const noStream = await mcpRequest(server, server.adminToken, { method: 'GET' });
    expect(noStream.status).toBe(400);
    expect(errorCode(await noStream.json())).toBe('INVALID_ARGUMENT');

    // Ended without the REST API (idle timeout, lifetime), so its token is still known for a while.
    const ended = await newSession(server);
    await server.airlock.sessions.destroy(ended.id);
    const refused = await mcpRequest(server, ended.token, { body: initialize });
    expect(refused.status).toBe(410);
    expect(errorCode(await refused.json())).toBe('SESSION_ENDED');
  });

  it('bounds the MCP sessions one session may hold, whichever of its tokens opens them', async () => {
    const server = await serve({ maxSessionsPerAirlockSession: 2 });
    const session = await newSession(server);
    for (let opened = 0; opened < 2; opened += 1)
      expect((await mcpRequest(server, session.token, { body: initialize })).status).toBe(200);
    const third = await mcpRequest(server, session.token, { body: initialize });
    expect(third.status).toBe(429);
    expect(errorCode(await third.json())).toBe('LIMIT_REACHED');

    // Minting another token for the same session does not buy another share.
    const minted = await call(`${server.url}/v1/sessions/${session.id}/tokens`, server.adminToken, {
      method: 'POST',
    });
    const viaMinted = await mcpRequest(server, (minted.body as { token: string }).token, {
      body: initialize,
    });
    expect(viaMinted.status).toBe(429);
    expect(errorCode(await viaMinted.json())).toBe('LIMIT_REACHED');
    // Other sessions and admins are not held to this session's share.
    expect((await mcpRequest(server, (await newSession(server)).token, { body: initialize })).status).toBe(
      200,
    );
    expect((await mcpRequest(server, server.adminToken, { body: initialize })).status).toBe(200);
  });

  it('closes MCP sessions whose Airlock session ended, and ones left unused', async () => {
    const idleTimeoutMs = 300;
    const server = await serve({ sweepIntervalMs: 50, idleTimeoutMs });
    const used = await connect(server, server.adminToken);
    const sessionId = String(factsOf(await callTool(used.client, 'session_info'))['sessionId']);
    const unused = await connect(server, server.adminToken);
    const agentSession = await newSession(server);
    const agent = await connect(server, agentSession.token);
    await callTool(agent.client, 'session_info');

    // As if its idle timeout or lifetime had passed.
    await server.airlock.sessions.destroy(sessionId);
    expect(
      await eventually(async () => !(await mcpSessionOpen(server, server.adminToken, used.mcpSessionId))),
    ).toBe(true);

    // Asking about the unused one is use, so it is asked only after it had time to be closed.
    await new Promise((resolve) => setTimeout(resolve, idleTimeoutMs * 3));
    expect(await mcpSessionOpen(server, server.adminToken, unused.mcpSessionId)).toBe(false);

    // Ending a session over the REST API revokes its tokens: its MCP session is unreachable at once.
    expect(await mcpSessionOpen(server, agentSession.token, agent.mcpSessionId)).toBe(true);
    const ended = await call(`${server.url}/v1/sessions/${agentSession.id}`, server.adminToken, {
      method: 'DELETE',
    });
    expect(ended.status).toBe(200);
    const stale = await mcpRequest(server, agentSession.token, {
      body: listTools,
      mcpSessionId: agent.mcpSessionId,
    });
    expect(stale.status).toBe(403);
    expect(errorCode(await stale.json())).toBe('UNAUTHENTICATED');
  });
});

describe.skipIf(bwrapMissing)('MCP over HTTP: a client that goes away without DELETE', () => {
  const graceMs = 400;

  it("ends the session it made soon after its event stream closed, and keeps a quiet client's", async () => {
    const server = await serve({ sweepIntervalMs: 50, disconnectGraceMs: graceMs });
    const leaving = await connect(server, server.adminToken);
    const leavingSession = String(factsOf(await callTool(leaving.client, 'session_info'))['sessionId']);
    const staying = await connect(server, server.adminToken);
    const stayingSession = String(factsOf(await callTool(staying.client, 'session_info'))['sessionId']);
    // Both hold their event stream open, as the official client does from the start.
    await new Promise((resolve) => setTimeout(resolve, graceMs * 2));

    // The transport closes without DELETE /mcp: a client process that exited.
    await leaving.transport.close();
    const closedAt = Date.now();
    expect(
      await eventually(async () => (await storedSession(server.home, leavingSession))?.state === 'ended'),
    ).toBe(true);
    expect(Date.now() - closedAt).toBeLessThan(graceMs + 5000);

    // The other one said nothing for several graces, but its stream is open: it is still here.
    await new Promise((resolve) => setTimeout(resolve, graceMs * 3));
    expect((await storedSession(server.home, stayingSession))?.state).toBe('active');
    expect(textOf(await callTool(staying.client, 'run_command', { command: 'echo still here' }))).toMatch(
      /still here/,
    );
  });

  it('does not take silence from a client that never opened a stream as leaving', async () => {
    const server = await serve({ sweepIntervalMs: 50, disconnectGraceMs: graceMs });
    const opened = await mcpRequest(server, server.adminToken, { body: initialize });
    expect(opened.status).toBe(200);
    const mcpSessionId = opened.headers.get('mcp-session-id') ?? '';
    await opened.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, graceMs * 3));
    expect(await mcpSessionOpen(server, server.adminToken, mcpSessionId)).toBe(true);
  });
});

describe.skipIf(bwrapMissing)('an agent on MCP over HTTP, from its first command to a refused path', () => {
  it('runs, is denied, waits for a person, pages output, moves files and is refused paths outside', async () => {
    const server = await serve();
    const session = await newSession(server);
    const { client } = await connect(server, session.token);

    const ran = await callTool(client, 'run_command', { command: 'echo hi' });
    expect(ran.isError).toBeFalsy();
    expect(factsOf(ran)).toMatchObject({
      status: 'completed',
      exitCode: 0,
      decision: 'allow',
      sessionId: session.id,
    });
    expect(textOf(ran)).toContain('hi');

    // The default policy's refusal is an answer the model reads, not a failure.
    const denied = await callTool(client, 'run_command', { command: 'rm -rf /' });
    // An absent isError means false (the MCP schema's default).
    expect(denied.isError ?? false).toBe(false);
    expect(factsOf(denied)).toMatchObject({ status: 'denied', decision: 'deny' });
    expect(factsOf(denied)).not.toHaveProperty('exitCode');
    expect(textOf(denied)).toMatch(/^not run: denied/);
    expect(textOf(denied)).toContain('deletes /');

    // Code planting a symlink out of the workspace, then a build file a person inherits (which asks a
    // person); one approves it from another client meanwhile. (`ln -s /etc` itself is refused: the link
    // would reach /etc/shadow.)
    const person = approvingOverRest(server);
    const planted = await callTool(
      client,
      'run_command',
      { command: `python3 -c 'import os; os.symlink("/etc", "/workspace/etc")' && touch Makefile` },
      person.options,
    );
    const decisions = await person.decided();
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ status: 200, body: { status: 'approved' } });
    expect(factsOf(planted)).toMatchObject({ status: 'completed', exitCode: 0, decision: 'ask' });
    expect(textOf(planted)).toMatch(/^a person approved it/);

    const long = await callTool(client, 'run_command', { command: 'seq 1 2000' });
    const outputId = factsOf(long)['outputId'];
    expect(factsOf(long)).toMatchObject({ status: 'completed', truncated: true });
    const expected = Array.from({ length: 2000 }, (_, index) => `${index + 1}\n`).join('');
    let paged = '';
    let pages = 0;
    for (let offset: number | null = 0; offset !== null; pages += 1) {
      const page = await callTool(client, 'read_output', { output_id: outputId, offset, limit: 3000 });
      expect(page.isError).toBeFalsy();
      const first = page.content[0];
      paged += first?.type === 'text' ? first.text : '';
      offset = (factsOf(page)['nextOffset'] as number | undefined) ?? null;
    }
    expect(pages).toBe(Math.ceil(expected.length / 3000));
    expect(paged).toBe(expected);

    const writer = approvingOverRest(server);
    const written = await callTool(
      client,
      'write_file',
      { path: 'notes/a.txt', content: 'hello\n' },
      writer.options,
    );
    await writer.decided();
    expect(factsOf(written)).toMatchObject({ status: 'completed', bytes: 6 });
    expect(textOf(await callTool(client, 'read_file', { path: '/workspace/notes/a.txt' }))).toBe('hello\n');
    const listed = await callTool(client, 'list_files', { path: 'notes' });
    expect(factsOf(listed)['entries']).toEqual([
      expect.objectContaining({ name: 'a.txt', kind: 'file', sizeBytes: 6 }),
    ]);

    // Refused before anyone is asked: `..` is never normalised away, and the symlink is not followed.
    const outside = [
      ['read_file', { path: '../../etc/passwd' }],
      ['write_file', { path: '/workspace/../etc/evil', content: 'x' }],
      ['read_file', { path: 'etc/passwd' }],
      ['list_files', { path: '/workspace/etc' }],
    ] as const;
    expect(outside.length).toBeGreaterThan(0);
    for (const [tool, args] of outside) {
      const watching = approvingOverRest(server);
      const result = await callTool(client, tool, args, watching.options);
      expect(await watching.decided(), `${tool} ${args.path}`).toEqual([]);
      expectPathRefused(result, `${tool} ${args.path}`);
    }
    // The symlink is seen only inside the sandbox, after the write was approved; approval does not
    // carry the write through it.
    const throughLink = approvingOverRest(server);
    const linked = await callTool(
      client,
      'write_file',
      { path: 'etc/evil', content: 'x' },
      throughLink.options,
    );
    await throughLink.decided();
    expectPathRefused(linked, 'write_file etc/evil');
    expect(existsSync('/etc/evil')).toBe(false);
    // The refusals left the session usable.
    expect(factsOf(await callTool(client, 'session_info'))).toMatchObject({ state: 'active' });
  });
});
