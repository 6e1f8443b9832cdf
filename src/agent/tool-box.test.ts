/**
 * One definition for every surface: the tools the agent's model is told of are the MCP server's
 * tools, with the same names, descriptions and input schemas an MCP client lists.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';
import { createAirlockMcpServer, lazySession } from '../mcp/index.ts';
import { createToolGuard, lazySession as toolSession } from '../tools/index.ts';
import { createToolBox } from './tool-box.ts';

describe("the agent's tools", () => {
  it('are the MCP tools: same names, descriptions and input schemas', async () => {
    const { airlock } = await openMemoryAirlock();
    const mcp = createAirlockMcpServer({ airlock, session: lazySession(airlock) });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await mcp.server.connect(serverSide);
    const client = new Client({ name: 'tool-box-test', version: '0' });
    await client.connect(clientSide);
    const listed = (await client.listTools()).tools;
    await mcp.close();

    const sessions = toolSession(airlock);
    const box = createToolBox({
      airlock,
      sessions,
      progressIntervalMs: 1000,
      now: Date.now,
      guard: createToolGuard(sessions, undefined),
    });
    expect(listed.length).toBeGreaterThanOrEqual(9);
    expect(box.specs.map((spec) => spec.name)).toEqual(listed.map((tool) => tool.name));
    for (const name of [
      'run_command',
      'command_status',
      'read_output',
      'write_file',
      'read_file',
      'list_files',
      'check_command',
    ]) {
      expect(box.specs.map((spec) => spec.name)).toContain(name);
    }
    for (const tool of listed) {
      const spec = box.specs.find((candidate) => candidate.name === tool.name);
      const { $schema: _schema, ...schema } = tool.inputSchema as Record<string, unknown>;
      expect(spec?.inputSchema, tool.name).toEqual(schema);
      // Descriptions match except where this surface bounds its waits (the MCP server sets no bound).
      if (!['run_command', 'write_file'].includes(tool.name))
        expect(spec?.description, tool.name).toBe(tool.description);
    }
    await sessions.close();
  });
});

describe('an agent run never waits inside a tool call for a person', () => {
  it('answers pending_approval at once whatever router.approvalWait says, and its schema says so', async () => {
    const { airlock } = await openMemoryAirlock({
      config: { router: { approvalRequiredFor: ['touch'], approvalWait: '1m', rateLimit: '1000/min' } },
    });
    const sessions = toolSession(airlock);
    const box = createToolBox({
      airlock,
      sessions,
      progressIntervalMs: 1000,
      approvalWaitMs: 0,
      now: Date.now,
      guard: createToolGuard(sessions, undefined),
    });
    const run = box.specs.find((spec) => spec.name === 'run_command');
    expect(run?.description).toMatch(/answers pending_approval at once/);
    const waitProperty = (run?.inputSchema['properties'] as Record<string, Record<string, unknown>>)[
      'approval_wait_s'
    ];
    expect(waitProperty).toMatchObject({ maximum: 0 });
    const started = performance.now();
    const call = { signal: new AbortController().signal };
    const result = await box.invoke(
      { id: 'c1', name: 'run_command', arguments: '{"command":"touch x"}' },
      call,
    );
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result.structuredContent).toMatchObject({ status: 'pending_approval' });
    const info = await box.invoke({ id: 'c2', name: 'session_info', arguments: '{}' }, call);
    expect(info.structuredContent).toMatchObject({ boundary: { approvalWaitMs: 0 } });
    await sessions.close();
  });
});
