/**
 * The MCP server in-process (official client over the SDK's in-memory transport) against a real
 * control plane: the outcomes that are hard to reach over a process boundary, and the adversarial
 * ones (another session's command and output ids).
 */
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { Airlock } from '../../src/index.ts';
import { createAirlockMcpServer, lazySession } from '../../src/mcp/index.ts';
import { eventually, openAirlock } from '../control-plane/support.ts';
import { callTool, factsOf, textOf } from './support.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function connected(
  routerConfig: Record<string, unknown> = {},
): Promise<{ airlock: Airlock; client: Client }> {
  const { airlock } = await openAirlock({
    config: { router: { approvalRequiredFor: ['touch'], rateLimit: '1000/min', ...routerConfig } },
  });
  const mcp = createAirlockMcpServer({ airlock, session: lazySession(airlock), progressIntervalMs: 100 });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'airlock-in-process-test', version: '0.0.0' });
  await client.connect(clientSide);
  closers.push(() => client.close());
  return { airlock, client };
}

async function pendingApprovalId(airlock: Airlock): Promise<string> {
  let id: string | undefined;
  await eventually(
    async () => (id = (await airlock.approvals.list({ status: 'pending' }))[0]?.id) !== undefined,
  );
  if (id === undefined) throw new Error('no approval was requested');
  return id;
}

describe.skipIf(bwrapMissing)('the MCP server over a control plane', () => {
  it('reports an ended session once, then starts a new one', async () => {
    const { airlock, client } = await connected();
    const first = await callTool(client, 'run_command', { command: 'seq 1 3000' });
    const firstSession = String(factsOf(first)['sessionId']);
    await airlock.sessions.destroy(firstSession);

    const ended = await callTool(client, 'run_command', { command: 'ls' });
    expect(ended.isError).toBe(true);
    expect(textOf(ended)).toMatch(/^error SESSION_ENDED: .*\n.*next call starts a new, empty session/);

    const next = await callTool(client, 'run_command', { command: 'ls' });
    expect(factsOf(next)).toMatchObject({ status: 'completed' });
    expect(factsOf(next)['sessionId']).not.toBe(firstSession);
    // The old session's stored output stays readable to the connection that produced it.
    const page = await callTool(client, 'read_output', { output_id: factsOf(first)['outputId'] });
    expect(page.isError).toBeFalsy();
  });

  it("treats another session's command and output ids as unknown", async () => {
    const { airlock, client } = await connected();
    const stranger = await airlock.sessions.create();
    const theirs = await stranger.run('echo secret-of-another-session');
    expect(theirs.outputId).not.toBeNull();
    await callTool(client, 'run_command', { command: 'true' });

    for (const [tool, args] of [
      ['read_output', { output_id: theirs.outputId }],
      ['command_status', { command_id: theirs.id }],
      ['kill_command', { command_id: theirs.id }],
    ] as const) {
      const result = await callTool(client, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toMatch(/^error NOT_FOUND/);
      expect(textOf(result), tool).not.toContain('secret-of-another-session');
    }
  });

  it('waits for a decision without a progress token too', async () => {
    const { airlock, client } = await connected();
    const call = callTool(client, 'run_command', { command: 'touch quiet.txt' });
    await airlock.approvals.approve(await pendingApprovalId(airlock), { decidedBy: 'test' });
    expect(factsOf(await call)).toMatchObject({ status: 'completed', exitCode: 0 });
  });

  it('returns an approval nobody decided in time as a denial', async () => {
    const { client } = await connected({ approvalTimeout: '1s' });
    const result = await callTool(client, 'run_command', { command: 'touch late.txt' });
    expect(result.isError).toBeFalsy();
    expect(factsOf(result)).toMatchObject({ status: 'denied' });
    expect(textOf(result)).toContain('no one approved it within 1 s');
  });

  it('returns a pending approval at once for a background command', async () => {
    const { airlock, client } = await connected();
    const result = await callTool(client, 'run_command', { command: 'touch bg.txt', background: true });
    expect(factsOf(result)).toMatchObject({ status: 'pending_approval' });
    expect(textOf(result)).toContain('command_status');
    await airlock.approvals.deny(String(factsOf(result)['approvalId']), { decidedBy: 'test' });
    const status = await callTool(client, 'command_status', {
      command_id: factsOf(result)['commandId'],
      wait_s: 5,
    });
    expect(factsOf(status)).toMatchObject({ status: 'denied' });
  });

  it('returns a rate limit as a result to retry, not an error', async () => {
    const { client } = await connected({ rateLimit: '1/min' });
    await callTool(client, 'run_command', { command: 'true' });
    const limited = await callTool(client, 'run_command', { command: 'true' });
    expect(limited.isError).toBeFalsy();
    expect(factsOf(limited)).toMatchObject({ status: 'rate_limited' });
    expect(factsOf(limited)['retryAfterMs']).toBeGreaterThan(0);
  });

  it('kills a background command on request, and again harmlessly', async () => {
    const { client } = await connected();
    const started = await callTool(client, 'run_command', { command: 'sleep 60', background: true });
    const commandId = factsOf(started)['commandId'];
    const killed = await callTool(client, 'kill_command', { command_id: commandId });
    expect(factsOf(killed)).toMatchObject({ status: 'killed' });
    const again = await callTool(client, 'kill_command', { command_id: commandId });
    expect(factsOf(again)).toMatchObject({ status: 'killed' });
  });

  it('pages a large file with read_file until the whole file is read', async () => {
    const { client } = await connected();
    await callTool(client, 'run_command', { command: 'seq 1 20000 > big.txt' });
    const expected = Array.from({ length: 20000 }, (_, index) => `${index + 1}\n`).join('');
    let text = '';
    let offset: number | null = 0;
    while (offset !== null) {
      const page = await callTool(client, 'read_file', { path: 'big.txt', offset, limit: 40_000 });
      text += String(factsOf(page)['content']);
      offset = factsOf(page)['nextOffset'] as number | null;
    }
    expect(text).toBe(expected);
  });

  it('kills a foreground command when the client cancels the call', async () => {
    const { airlock, client } = await connected();
    const cancel = new AbortController();
    const call = callTool(client, 'run_command', { command: 'sleep 60' }, { signal: cancel.signal });
    let commandId: string | undefined;
    await eventually(async () => {
      const proposed = (await airlock.audit.list()).find((event) => event.type === 'execution.started');
      commandId = proposed?.commandId ?? undefined;
      return commandId !== undefined;
    });
    cancel.abort();
    await expect(call).rejects.toThrow();
    const result = await airlock.commands.wait(commandId ?? '');
    expect(result.status).toBe('killed');
  });
});
