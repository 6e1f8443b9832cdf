/**
 * What MCP clients see of Airlock's tools: output schemas a client can convert for its model, and
 * structured results that match them. Runs the MCP server over the SDK's in-memory transport on the
 * in-memory test driver.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';
import { createAirlockMcpServer, lazySession } from './index.ts';

async function connected() {
  const { airlock } = await openMemoryAirlock({ config: { router: { approvalRequiredFor: [] } } });
  const mcp = createAirlockMcpServer({ airlock, session: lazySession(airlock) });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'schema-test', version: '0' });
  await client.connect(clientSide);
  return { client, close: () => mcp.close() };
}

/** Every JSON Schema node that admits null, with where it is. */
function nullables(schema: unknown, path = '$'): string[] {
  if (Array.isArray(schema)) return schema.flatMap((item, i) => nullables(item, `${path}[${i}]`));
  if (typeof schema !== 'object' || schema === null) return [];
  const node = schema as Record<string, unknown>;
  const own =
    node['type'] === 'null' || (Array.isArray(node['type']) && node['type'].includes('null')) ? [path] : [];
  return [...own, ...Object.entries(node).flatMap(([key, value]) => nullables(value, `${path}.${key}`))];
}

function nullMembers(value: unknown, path = '$'): string[] {
  if (value === null) return [path];
  if (typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, member]) => nullMembers(member, `${path}.${key}`));
}

describe('MCP output schemas', () => {
  it('admit no null anywhere: facts that may not apply are optional', async () => {
    const { client, close } = await connected();
    const { tools } = await client.listTools();
    expect(tools.length).toBeGreaterThan(0);
    for (const tool of tools) expect(nullables(tool.outputSchema), tool.name).toEqual([]);
    await close();
  });

  it('give structured results without null members, which the client checks against the schema', async () => {
    const { client, close } = await connected();
    const calls: Array<[string, Record<string, unknown>]> = [
      ['run_command', { command: 'echo hi' }],
      ['run_command', { command: 'rm -rf /' }],
      ['write_file', { path: 'a.txt', content: 'x' }],
      ['read_file', { path: 'a.txt' }],
      ['list_files', {}],
      ['session_info', {}],
    ];
    expect(calls.length).toBeGreaterThan(0);
    for (const [name, args] of calls) {
      // The SDK client validates structuredContent against the tool's output schema.
      const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
      expect(result.isError, name).toBeFalsy();
      expect(nullMembers(result.structuredContent), name).toEqual([]);
    }
    const denied = (await client.callTool({
      name: 'run_command',
      arguments: { command: 'rm -rf /' },
    })) as CallToolResult;
    expect(denied.structuredContent).toMatchObject({ status: 'denied' });
    expect(denied.structuredContent).not.toHaveProperty('exitCode');
    await close();
  });
});
