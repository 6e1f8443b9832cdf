/**
 * `airlock mcp` as an MCP client sees it: the official client spawns bin/airlock.js, lists the tools
 * and calls them against real bwrap sandboxes and a real store. Approvals are decided the way a
 * person would, with `airlock approvals` sharing the store file.
 */
import { existsSync } from 'node:fs';
import type { Progress } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approvalIdIn,
  callTool,
  factsOf,
  mcpHome,
  storedSession,
  storedSessions,
  textOf,
} from './support.ts';
import { connect, decide } from './stdio-client.ts';
import type { Connection } from './stdio-client.ts';

const bwrapMissing = ['/usr/bin/bwrap', '/usr/local/bin/bwrap'].every((path) => !existsSync(path));

describe.skipIf(bwrapMissing)('airlock mcp on stdio', () => {
  let home: string;
  let connection: Connection;

  beforeAll(async () => {
    home = mcpHome();
    connection = await connect(home);
  });
  afterAll(async () => {
    await connection.client.close();
    // Logs go to stderr only; nothing is logged when all goes well.
    expect(connection.stderr()).toBe('');
  });

  it('lists the tools with their annotations and output schemas', async () => {
    const { tools } = await connection.client.listTools();
    const byName = new Map(tools.map((tool) => [tool.name, tool]));
    expect([...byName.keys()].sort()).toEqual([
      'check_command',
      'command_status',
      'kill_command',
      'list_files',
      'read_file',
      'read_output',
      'run_command',
      'session_info',
      'write_file',
    ]);
    expect(byName.get('run_command')?.annotations).toMatchObject({
      destructiveHint: true,
      // Hosts on the session's list (or granted by a person) are reachable through the egress proxy.
      openWorldHint: true,
      readOnlyHint: false,
    });
    expect(byName.get('write_file')?.annotations).toMatchObject({
      destructiveHint: true,
      idempotentHint: true,
    });
    for (const name of [
      'read_file',
      'read_output',
      'list_files',
      'session_info',
      'command_status',
      'check_command',
    ]) {
      expect(byName.get(name)?.annotations?.readOnlyHint, name).toBe(true);
    }
    for (const tool of tools) expect(tool.outputSchema, tool.name).toBeDefined();
  });

  it('runs a command and returns its output and exit status', async () => {
    const result = await callTool(connection.client, 'run_command', { command: 'echo hi; exit 3' });
    expect(result.isError).toBeFalsy();
    expect(textOf(result)).toContain('exit code 3');
    expect(textOf(result)).toContain('hi');
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 3, decision: 'allow' });
  });

  it('returns a denial as a result the model can read, not as an error', async () => {
    const result = await callTool(connection.client, 'run_command', { command: 'rm -rf /' });
    expect(result.isError).toBeFalsy();
    expect(factsOf(result)).toMatchObject({ status: 'denied', decision: 'deny' });
    expect(factsOf(result)).not.toHaveProperty('exitCode');
    expect(textOf(result)).toMatch(/^not run: denied/);
    expect(textOf(result)).toContain('deletes /');
  });

  it('waits for a person, reporting progress, and returns the approved command\u2019s result', async () => {
    const progress: Progress[] = [];
    let approving: Promise<void> | null = null;
    const result = await callTool(
      connection.client,
      'run_command',
      { command: 'touch approved.txt && echo made it' },
      {
        timeout: 20_000,
        resetTimeoutOnProgress: true,
        onprogress: (update) => {
          progress.push(update);
          const approvalId = approvalIdIn(update.message ?? '');
          if (approvalId !== null) approving ??= decide(home, 'approve', approvalId);
        },
      },
    );
    await approving;
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]?.message).toMatch(
      /waiting for a person's approval of apr_\w+ .*airlock approvals approve apr_/,
    );
    expect(result.isError).toBeFalsy();
    expect(factsOf(result)).toMatchObject({ status: 'completed', exitCode: 0, decision: 'ask' });
    expect(factsOf(result)['approvalId']).toBe(approvalIdIn(progress[0]?.message ?? ''));
    expect(textOf(result)).toMatch(/^a person approved it/);
    expect(textOf(result)).toContain('made it');

    const listed = await callTool(connection.client, 'list_files', {});
    expect(textOf(listed)).toContain('approved.txt');
  });

  it('returns a person\u2019s denial as a normal result with their reason', async () => {
    let denying: Promise<void> | null = null;
    const result = await callTool(
      connection.client,
      'run_command',
      { command: 'touch refused.txt' },
      {
        onprogress: (update) => {
          const approvalId = approvalIdIn(update.message ?? '');
          if (approvalId !== null) denying ??= decide(home, 'deny', approvalId);
        },
      },
    );
    await denying;
    expect(result.isError).toBeFalsy();
    expect(factsOf(result)).toMatchObject({ status: 'denied' });
    expect(factsOf(result)).not.toHaveProperty('exitCode');
    expect(textOf(result)).toContain('a person denied it');
    const listed = await callTool(connection.client, 'list_files', {});
    expect(textOf(listed)).not.toContain('refused.txt');
  });

  it('pages a cut output with read_output until the whole output is read', async () => {
    const result = await callTool(connection.client, 'run_command', { command: 'seq 1 2000' });
    const facts = factsOf(result);
    expect(facts).toMatchObject({ status: 'completed', truncated: true });
    const outputId = facts['outputId'];
    expect(outputId).toMatch(/^out_/);
    expect(textOf(result)).toContain(`read_output output_id=${String(outputId)}`);

    const expected = Array.from({ length: 2000 }, (_, index) => `${index + 1}\n`).join('');
    let text = '';
    let offset: number | null = 0;
    let pages = 0;
    while (offset !== null) {
      const page = await callTool(connection.client, 'read_output', {
        output_id: outputId,
        offset,
        limit: 3000,
      });
      expect(page.isError).toBeFalsy();
      const first = page.content[0];
      text += first?.type === 'text' ? first.text : '';
      offset = (factsOf(page)['nextOffset'] as number | undefined) ?? null;
      pages += 1;
    }
    expect(pages).toBe(Math.ceil(expected.length / 3000));
    expect(text).toBe(expected);
  });

  it('writes, reads and lists files, text and binary', async () => {
    const written = await callTool(connection.client, 'write_file', {
      path: 'notes/a.txt',
      content: 'hello from the model\n',
    });
    expect(factsOf(written)).toMatchObject({ status: 'completed', bytes: 21 });
    const read = await callTool(connection.client, 'read_file', { path: '/workspace/notes/a.txt' });
    expect(textOf(read)).toBe('hello from the model\n');
    const listed = await callTool(connection.client, 'list_files', { path: 'notes' });
    expect(factsOf(listed)['entries']).toEqual([
      expect.objectContaining({ name: 'a.txt', kind: 'file', sizeBytes: 21 }),
    ]);

    const bytes = Buffer.from([0xff, 0x00, 0xfe, 0x41]);
    await callTool(connection.client, 'write_file', {
      path: '/tmp/b.bin',
      content: bytes.toString('base64'),
      encoding: 'base64',
    });
    const asText = await callTool(connection.client, 'read_file', { path: '/tmp/b.bin' });
    expect(factsOf(asText)).toMatchObject({ binary: true, redactedSizeBytes: 4 });
    const asBase64 = await callTool(connection.client, 'read_file', {
      path: '/tmp/b.bin',
      encoding: 'base64',
    });
    expect(asBase64.content[0]).toEqual({ type: 'text', text: bytes.toString('base64') });
  });

  it('refuses a path that climbs out of the sandbox with an error result naming the code', async () => {
    for (const [tool, args] of [
      ['read_file', { path: '../../etc/passwd' }],
      ['write_file', { path: '/workspace/../etc/evil', content: 'x' }],
      ['list_files', { path: '/etc' }],
    ] as const) {
      const result = await callTool(connection.client, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result), tool).toMatch(/^error PATH_OUTSIDE_SANDBOX: /);
      expect(result._meta?.['airlock/error'], tool).toMatchObject({ code: 'PATH_OUTSIDE_SANDBOX' });
    }
  });

  it('runs a command in the background and reports it through command_status', async () => {
    const started = await callTool(connection.client, 'run_command', {
      command: 'sleep 1; echo finished',
      background: true,
    });
    expect(factsOf(started)).toMatchObject({ status: 'running' });
    const commandId = factsOf(started)['commandId'];
    expect(textOf(started)).toContain('command_status');
    const done = await callTool(connection.client, 'command_status', { command_id: commandId, wait_s: 20 });
    expect(factsOf(done)).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(textOf(done)).toContain('finished');

    const unknown = await callTool(connection.client, 'command_status', {
      command_id: 'cmd_000000000000000000000000',
    });
    expect(unknown.isError).toBe(true);
    expect(textOf(unknown)).toMatch(/^error NOT_FOUND/);
  });

  it('describes the session: limits, network and what needs approval', async () => {
    const result = await callTool(connection.client, 'session_info');
    const facts = factsOf(result);
    expect(facts['sessionId']).toMatch(/^ses_/);
    expect(facts).toMatchObject({
      state: 'active',
      // The default configuration: ask mode with nothing on the list yet.
      network: { mode: 'ask', allow: [], proxy: 'http://127.0.0.1:3128', secrets: [] },
      policy: { approvalRequiredFor: ['touch'] },
      limits: { maxOutputChars: 200 },
      processes: { supervisorIsPid1: true },
    });
    expect(textOf(result)).toContain('a person approves touch');
    expect(textOf(result)).toContain('network: through the egress proxy at http://127.0.0.1:3128');
    expect(textOf(result)).toContain('the supervisor is pid 1 (commands cannot signal it)');
  });
});

describe.skipIf(bwrapMissing)('airlock mcp ending', () => {
  it('destroys the session when the client closes stdin, and exits by itself', async () => {
    const home = mcpHome();
    const { client, stderr } = await connect(home);
    const info = await callTool(client, 'session_info');
    const sessionId = String(factsOf(info)['sessionId']);
    const closing = Date.now();
    await client.close();
    // The client sends SIGTERM after 2 s of waiting; ending sooner means stdin's end did it.
    expect(Date.now() - closing).toBeLessThan(2000);
    expect(await storedSession(home, sessionId)).toMatchObject({
      state: 'ended',
      endReason: 'destroyed on request',
    });
    expect(stderr()).toBe('');
  });

  it('destroys the session on SIGTERM', async () => {
    const home = mcpHome();
    const { client, transport } = await connect(home);
    const sessionId = String(factsOf(await callTool(client, 'session_info'))['sessionId']);
    const pid = transport.pid;
    if (pid === null) throw new Error('the MCP server process has no pid');
    const closed = new Promise<void>((resolve) => (transport.onclose = resolve));
    process.kill(pid, 'SIGTERM');
    await closed;
    expect(await storedSession(home, sessionId)).toMatchObject({
      state: 'ended',
      endReason: 'destroyed on request',
    });
  });

  it('creates no session for a client that never calls a tool', async () => {
    const home = mcpHome();
    const { client } = await connect(home);
    await client.listTools();
    await client.close();
    expect(await storedSessions(home)).toEqual([]);
  });
});
