/**
 * The `/mcp` endpoint over real HTTP on 127.0.0.1 with the official streamable HTTP client. A plain
 * node:http server stands in for the API server: it authenticates (`Bearer admin`, or
 * `Bearer session:<id>` for a session token) and hands the request to the endpoint.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Airlock } from '../../src/index.ts';
import { createMcpHttpEndpoint } from '../../src/mcp/index.ts';
import type { McpHttpEndpoint, McpHttpEndpointOptions, McpPrincipal } from '../../src/mcp/index.ts';
import { eventually, openAirlock } from '../control-plane/support.ts';
import { approvalIdIn, callTool, factsOf, textOf } from './support.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

const config = {
  router: { approvalRequiredFor: ['touch', 'write_file'], output: { maxChars: 200 }, rateLimit: '1000/min' },
};

interface Served {
  readonly airlock: Airlock;
  readonly endpoint: McpHttpEndpoint;
  readonly url: URL;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function principalOf(req: IncomingMessage): McpPrincipal | null {
  const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (token === 'admin') return { kind: 'admin' };
  if (token?.startsWith('session:')) return { kind: 'session', sessionId: token.slice('session:'.length) };
  return null;
}

async function bodyOf(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

async function serve(options: Omit<McpHttpEndpointOptions, 'airlock'> = {}): Promise<Served> {
  const { airlock } = await openAirlock({ config });
  const endpoint = createMcpHttpEndpoint({ airlock, progressIntervalMs: 100, ...options });
  const server: Server = createServer((req, res) => {
    const principal = principalOf(req);
    if (principal === null) {
      res.writeHead(401).end();
      return;
    }
    void (async () => {
      const body = req.method === 'POST' ? await bodyOf(req) : undefined;
      await endpoint.handle(req, res, body, principal);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  cleanups.push(async () => {
    await endpoint.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { airlock, endpoint, url: new URL(`http://127.0.0.1:${port}/mcp`) };
}

async function connect(url: URL, token: string) {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'airlock-http-test', version: '0.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

/** One raw JSON-RPC POST, as a client without the SDK would send it. */
function post(url: URL, token: string, body: unknown, mcpSessionId?: string): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(mcpSessionId === undefined ? {} : { 'mcp-session-id': mcpSessionId }),
    },
    body: JSON.stringify(body),
  });
}

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '0' } },
};

describe.skipIf(bwrapMissing)('MCP over streamable HTTP', () => {
  it('gives an admin connection its own session, made on the first tool call and ended by DELETE', async () => {
    const { airlock, endpoint, url } = await serve();
    const { client, transport } = await connect(url, 'admin');
    await client.listTools();
    expect(await airlock.sessions.list({ state: 'active' })).toEqual([]);

    const result = await callTool(client, 'run_command', { command: 'echo hi' });
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(textOf(result)).toContain('hi');
    const sessionId = String(factsOf(result)['sessionId']);
    expect(endpoint.sessionCount()).toBe(1);

    await transport.terminateSession();
    expect(await airlock.sessions.info(sessionId)).toMatchObject({
      state: 'ended',
      endReason: 'destroyed on request',
    });
    expect(endpoint.sessionCount()).toBe(0);
  });

  it('streams progress while a command waits for approval, then returns its result', async () => {
    const { airlock, url } = await serve();
    const { client } = await connect(url, 'admin');
    const progress: Progress[] = [];
    let approving: Promise<unknown> | null = null;
    const result = await callTool(
      client,
      'run_command',
      { command: 'touch made.txt && echo ok' },
      {
        onprogress: (update) => {
          progress.push(update);
          const approvalId = approvalIdIn(update.message ?? '');
          if (approvalId !== null) approving ??= airlock.approvals.approve(approvalId, { decidedBy: 'test' });
        },
      },
    );
    await approving;
    expect(progress[0]?.message).toContain('airlock approvals approve apr_');
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  it('waits for approval of a file write, with progress naming the request', async () => {
    const { airlock, url } = await serve();
    const { client } = await connect(url, 'admin');
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
          if (approvalId !== null) approving ??= airlock.approvals.approve(approvalId, { decidedBy: 'test' });
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
    const { airlock, url } = await serve();
    const session = await airlock.sessions.create();
    const { client, transport } = await connect(url, `session:${session.id}`);
    const info = await callTool(client, 'session_info');
    expect(factsOf(info)['sessionId']).toBe(session.id);
    await transport.terminateSession();
    expect((await session.info()).state).toBe('active');
  });

  it('refuses an MCP session id to any principal but the one that opened it', async () => {
    const { airlock, url } = await serve();
    const { client, transport } = await connect(url, 'admin');
    const mcpSessionId = transport.sessionId ?? '';
    expect(mcpSessionId).not.toBe('');
    const other = await airlock.sessions.create();

    const list = { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} };
    const stolen = await post(url, `session:${other.id}`, list, mcpSessionId);
    expect(stolen.status).toBe(404);
    expect(await stolen.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const deleted = await fetch(url, {
      method: 'DELETE',
      headers: { authorization: `Bearer session:${other.id}`, 'mcp-session-id': mcpSessionId },
    });
    expect(deleted.status).toBe(404);
    // The owner's MCP session is untouched.
    expect((await client.listTools()).tools.length).toBeGreaterThan(0);
  });

  it('answers requests that are not MCP-session requests with a JSON error', async () => {
    const { airlock, url } = await serve();
    const noSession = await post(url, 'admin', { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    expect(noSession.status).toBe(400);
    expect(await noSession.json()).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });

    const ended = await airlock.sessions.create();
    await ended.destroy();
    const refused = await post(url, `session:${ended.id}`, initialize);
    expect(refused.status).toBe(410);
    expect(await refused.json()).toMatchObject({ error: { code: 'SESSION_ENDED' } });
  });

  it('bounds the MCP sessions one session token may hold', async () => {
    const { airlock, url } = await serve({ maxSessionsPerToken: 2 });
    const session = await airlock.sessions.create();
    const token = `session:${session.id}`;
    for (let opened = 0; opened < 2; opened += 1)
      expect((await post(url, token, initialize)).status).toBe(200);
    const third = await post(url, token, initialize);
    expect(third.status).toBe(429);
    expect(await third.json()).toMatchObject({ error: { code: 'LIMIT_REACHED' } });
    // Admins are not held to a token's share.
    expect((await post(url, 'admin', initialize)).status).toBe(200);
  });

  it('closes MCP sessions whose Airlock session ended, and ones left unused', async () => {
    const { airlock, endpoint, url } = await serve({ sweepIntervalMs: 50, idleTimeoutMs: 200 });
    const { client } = await connect(url, 'admin');
    const sessionId = String(factsOf(await callTool(client, 'session_info'))['sessionId']);
    await connect(url, 'admin');
    expect(endpoint.sessionCount()).toBe(2);

    // As if its idle timeout or lifetime had passed.
    await airlock.sessions.destroy(sessionId);
    expect(await eventually(() => endpoint.sessionCount() === 0)).toBe(true);
  });
});
