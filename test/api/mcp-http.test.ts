/**
 * MCP over the real server's /mcp route: the official streamable HTTP client, bearer tokens checked by
 * the same authentication as the REST API.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import { eventually } from '../control-plane/support.ts';
import { call, errorCode, startTestServer } from './support.ts';

async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ isError?: boolean; text: string; facts: Record<string, unknown> }> {
  const result = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: Array<{ type: string; text?: string }>;
    structuredContent?: Record<string, unknown>;
  };
  return {
    ...(result.isError === undefined ? {} : { isError: result.isError }),
    text: result.content.map((part) => part.text ?? '').join('\n'),
    facts: result.structuredContent ?? {},
  };
}

async function connect(url: string, token: string): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    requestInit: { headers: { authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: 'airlock-api-test', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

describe('MCP on the HTTP server', () => {
  it('runs a command in a session made for the connection, and ends it when the client ends the MCP session', async () => {
    const server = await startTestServer({ mcp: true });
    const client = await connect(server.url, server.adminToken);
    const ran = await callTool(client, 'run_command', { command: 'echo hi' });
    expect(ran.isError).toBeFalsy();
    expect(ran.facts).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(ran.text).toContain('hi');
    const active = await server.airlock.sessions.list({ state: 'active' });
    expect(active).toHaveLength(1);

    // A well-behaved client ends its MCP session with DELETE; the Airlock session goes with it.
    await (client.transport as StreamableHTTPClientTransport).terminateSession();
    await client.close();
    expect(
      await eventually(async () => (await server.airlock.sessions.list({ state: 'active' })).length === 0),
    ).toBe(true);
  });

  it('uses the session a session token names, and refuses requests without a token', async () => {
    const server = await startTestServer({ mcp: true });
    const created = await call(`${server.url}/v1/sessions`, server.adminToken, { method: 'POST', body: {} });
    const { id, token } = created.body as { id: string; token: string };
    const client = await connect(server.url, token);
    const info = await callTool(client, 'session_info');
    expect(JSON.stringify(info.facts)).toContain(id);
    await client.close();

    const anonymous = await call(`${server.url}/mcp`, null, {
      method: 'POST',
      body: { jsonrpc: '2.0', id: 1, method: 'initialize', params: {} },
      headers: { accept: 'application/json, text/event-stream' },
    });
    expect(anonymous.status).toBe(401);
    expect(errorCode(anonymous.body)).toBe('UNAUTHENTICATED');
    const startedAt = Date.now();
    await server.server.close();
    // Nothing half-read keeps the shutdown waiting for the client's keep-alive timeout (4 s).
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });
});
