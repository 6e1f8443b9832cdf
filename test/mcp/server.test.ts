/**
 * The MCP server in-process (official client over the SDK's in-memory transport) against a real
 * control plane: the outcomes that are hard to reach over a process boundary, and the adversarial
 * ones (another session's command and output ids).
 */
import { existsSync } from 'node:fs';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { RequestOptions } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { CallToolResult, Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { AirlockError } from '../../src/errors/index.ts';
import type { Airlock } from '../../src/index.ts';
import { MAX_READ_FILE_BYTES } from '../../src/tools/index.ts';
import { boundSession, createAirlockMcpServer, lazySession } from '../../src/mcp/index.ts';
import type { SessionProvider } from '../../src/mcp/index.ts';
import { eventually, openAirlock } from '../control-plane/support.ts';
import { approvalIdIn, callTool, factsOf, textOf } from './support.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function connected(
  routerConfig: Record<string, unknown> = {},
  provider: (airlock: Airlock) => SessionProvider | Promise<SessionProvider> = lazySession,
): Promise<{ airlock: Airlock; client: Client }> {
  const { airlock } = await openAirlock({
    config: { router: { approvalRequiredFor: ['touch'], rateLimit: '1000/min', ...routerConfig } },
  });
  const mcp = createAirlockMcpServer({ airlock, session: await provider(airlock), progressIntervalMs: 100 });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  const client = new Client({ name: 'airlock-in-process-test', version: '0.0.0' });
  await client.connect(clientSide);
  closers.push(() => client.close());
  return { airlock, client };
}

/** The text and error facts of a result with `id` written as ID, to compare answers about different ids. */
function answerWithout(result: CallToolResult, id: string): unknown {
  return JSON.parse(JSON.stringify({ text: textOf(result), meta: result._meta }).replaceAll(id, 'ID'));
}

/**
 * Call options that approve the first request the call's progress names, and the progress messages
 * in the order they came.
 */
function approvingFromProgress(airlock: Airlock) {
  const messages: string[] = [];
  let approving: Promise<unknown> | null = null;
  return {
    messages,
    approved: () => approving,
    options: {
      onprogress: (update: Progress) => {
        messages.push(update.message ?? '');
        const approvalId = approvalIdIn(update.message ?? '');
        if (approvalId !== null) approving ??= airlock.approvals.approve(approvalId, { decidedBy: 'test' });
      },
    } satisfies RequestOptions,
  };
}

/** Progress once a person approved says so; none still counts down to a denial after that. */
function expectProgressFollowsTheDecision(messages: readonly string[]): void {
  const firstRunning = messages.findIndex((message) => /^approved \(apr_[0-9a-f]+\); running/.test(message));
  expect(messages[0]).toMatch(/^waiting for a person's approval of apr_/);
  expect(firstRunning, messages.join('\n')).toBeGreaterThan(0);
  for (const later of messages.slice(firstRunning)) {
    expect(later).not.toContain('waiting for');
    expect(later).not.toContain('means denied');
  }
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

  it("answers an unknown id exactly as it answers another session's id (adversarial)", async () => {
    const { airlock, client } = await connected();
    const stranger = await airlock.sessions.create();
    const theirs = await stranger.run('echo secret-of-another-session');
    const outputId = String(theirs.outputId);
    await callTool(client, 'run_command', { command: 'true' });
    const unknown = (id: string): string => `${id.slice(0, 4)}${'0'.repeat(id.length - 4)}`;

    const cases = [
      ['read_output', 'output_id', outputId],
      ['command_status', 'command_id', theirs.id],
      ['kill_command', 'command_id', theirs.id],
    ] as const;
    expect(cases.length).toBeGreaterThan(0);
    for (const [tool, field, id] of cases) {
      const another = await callTool(client, tool, { [field]: id });
      const none = await callTool(client, tool, { [field]: unknown(id) });
      expect(another.isError, tool).toBe(true);
      expect(answerWithout(none, unknown(id)), tool).toEqual(answerWithout(another, id));
    }
  });

  it('says a command was approved and runs, instead of counting down to a denial', async () => {
    const { airlock, client } = await connected();
    const person = approvingFromProgress(airlock);
    const result = await callTool(
      client,
      'run_command',
      { command: 'touch approved.txt && sleep 1' },
      person.options,
    );
    await person.approved();
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0 });
    expectProgressFollowsTheDecision(person.messages);
  });

  it('says so in command_status too, once a background command was approved', async () => {
    const { airlock, client } = await connected();
    const started = await callTool(client, 'run_command', {
      command: 'touch background.txt && sleep 1',
      background: true,
    });
    expect(factsOf(started)).toMatchObject({ status: 'pending_approval' });
    const person = approvingFromProgress(airlock);
    const status = await callTool(
      client,
      'command_status',
      { command_id: factsOf(started)['commandId'], wait_s: 10 },
      person.options,
    );
    await person.approved();
    expect(factsOf(status)).toMatchObject({ status: 'completed', exitCode: 0 });
    expectProgressFollowsTheDecision(person.messages);
  });

  it('keeps a healthy session when a call reports an ended session without naming it', async () => {
    let failNext = false;
    const { client } = await connected({}, (airlock) => {
      const lazy = lazySession(airlock);
      return {
        ...lazy,
        get: () => {
          if (!failNext) return lazy.get();
          failNext = false;
          return Promise.reject(new AirlockError('SESSION_ENDED', 'some session has ended'));
        },
      };
    });
    const first = await callTool(client, 'run_command', { command: 'echo kept > /workspace/kept.txt' });
    failNext = true;
    const failed = await callTool(client, 'run_command', { command: 'true' });
    expect(failed._meta?.['airlock/error']).toMatchObject({ code: 'SESSION_ENDED' });
    const next = await callTool(client, 'run_command', { command: 'cat /workspace/kept.txt' });
    expect(factsOf(next)).toMatchObject({ status: 'completed', sessionId: factsOf(first)['sessionId'] });
    expect(textOf(next)).toContain('kept');
  });

  it('runs with the shortest timeout when timeout_s is under a millisecond', async () => {
    const { client } = await connected();
    const result = await callTool(client, 'run_command', { command: 'sleep 5', timeout_s: 0.0001 });
    expect(result.isError ?? false, textOf(result)).toBe(false);
    expect(factsOf(result)).toMatchObject({ status: 'timed_out' });
  });

  it('refuses a file over the read_file limit before reading it, pointing at run_command', async () => {
    const { client } = await connected();
    await callTool(client, 'run_command', {
      command:
        `seq 1 300000 | head -c ${MAX_READ_FILE_BYTES} > limit.txt && ` +
        `seq 1 300000 | head -c ${MAX_READ_FILE_BYTES + 1} > over.txt`,
    });
    const atLimit = await callTool(client, 'read_file', { path: 'limit.txt', limit: 6 });
    expect(factsOf(atLimit)).toMatchObject({ content: '1\n2\n3\n', total: MAX_READ_FILE_BYTES });

    const over = await callTool(client, 'read_file', { path: 'over.txt' });
    expect(over.isError).toBe(true);
    expect(over._meta?.['airlock/error']).toMatchObject({ code: 'FILE_TOO_LARGE' });
    expect(textOf(over)).toMatch(/^error FILE_TOO_LARGE: over\.txt is larger than \d+ bytes/);
    expect(textOf(over)).toContain('run_command');
    expect(textOf(over)).toContain('head -n');
  });

  it("reports a file's size as read_file shows it, redacted, and never the secret (adversarial)", async () => {
    const secret = 'sk-live-7f3a9c1e5b2d8f4a6c0e';
    const { client } = await connected({}, async (airlock) => {
      const session = await airlock.sessions.create({ secretEnv: { SERVICE_KEY: secret } });
      return boundSession(airlock, session.id);
    });
    await callTool(client, 'write_file', { path: 'config.txt', content: `key=${secret}\n` });
    const read = await callTool(client, 'read_file', { path: 'config.txt' });
    const facts = factsOf(read);
    expect(textOf(read)).not.toContain(secret);
    expect(facts['content']).toBe('key=[REDACTED:env:SERVICE_KEY]\n');
    expect(facts['redactedSizeBytes']).toBe(Buffer.byteLength(String(facts['content'])));
    expect(facts['total']).toBe(String(facts['content']).length);
    expect(facts).not.toHaveProperty('sizeBytes');
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
      offset = (factsOf(page)['nextOffset'] as number | undefined) ?? null;
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

  it('judges a command with check_command without running it, recording it or asking anyone', async () => {
    const { airlock, client } = await connected();
    const denied = await callTool(client, 'check_command', { command: 'rm -rf / && touch /workspace/ran' });
    expect(denied.isError).toBeFalsy();
    expect(factsOf(denied)).toMatchObject({ decision: 'deny' });
    expect(textOf(denied)).toMatch(/^deny: it would be refused/);
    expect(textOf(denied)).toContain('deletes /');
    const asked = await callTool(client, 'check_command', { command: 'touch /workspace/ran' });
    expect(factsOf(asked)).toMatchObject({ decision: 'ask' });
    expect(await airlock.approvals.list({ status: 'pending' })).toEqual([]);
    const listed = await callTool(client, 'list_files', {});
    expect(textOf(listed)).not.toContain('ran');
    const events = await airlock.audit.list();
    expect(events.filter((event) => event.type.startsWith('command.'))).toEqual([]);
  });
});
