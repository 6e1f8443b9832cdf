/**
 * `airlock agent run` end to end: its own process, the real provider SDKs against the scripted model
 * server on 127.0.0.1, every command through the policy into a real bwrap sandbox.
 */
import { describe, expect, it } from 'vitest';
import { commandIdIn } from '../support/model-server.ts';
import {
  agentHome,
  bwrapMissing,
  jsonEvents,
  MODEL_KEY,
  runCliProcess,
  scripted,
  startAgent,
} from './support.ts';

describe.skipIf(bwrapMissing)('airlock agent run', () => {
  it('runs a task in several steps against a local OpenAI-compatible server, with a transcript and a summary', async () => {
    const home = agentHome();
    const server = await scripted([
      {
        text: 'I will write the script.',
        toolCalls: [
          {
            name: 'write_file',
            arguments: { path: 'hello.py', content: 'print("hello from the sandbox")\n' },
          },
        ],
      },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'python3 hello.py' } }] },
      (request) => ({
        text: request.toolResults.at(-1)?.includes('hello from the sandbox')
          ? 'It prints the greeting.'
          : 'It failed.',
      }),
    ]);
    const cli = startAgent(
      ['--model', 'local-model', '--base-url', server.baseUrl, 'Write hello.py and run it'],
      home,
    );
    const { exitCode, stdout, stderr } = await cli.exited;
    expect(stderr).toBe('');
    expect(exitCode).toBe(0);
    expect(stdout).toMatch(
      /^airlock agent: openai:local-model at http:\/\/127\.0\.0\.1:\d+\/v1 · session ses_\w+/,
    );
    expect(stdout).toContain('[1] I will write the script.\n');
    expect(stdout).toContain('[1] write_file hello.py');
    expect(stdout).toContain('[2] $ python3 hello.py\n    ✓ exit 0');
    expect(stdout).toContain('    │ hello from the sandbox');
    expect(stdout).toContain('[3] It prints the greeting.');
    expect(stdout).toMatch(
      /completed · 3 steps · 1 commands \(0 denied, 0 asked\) · [\d,]+ tokens in, [\d,]+ out · [\d.]+ s\n$/,
    );
    expect(server.received).toHaveLength(3);
  });

  it('gives the transcript as JSON lines with --json, and records the run as one thread in the audit log', async () => {
    const home = agentHome();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'echo one' } }] },
      { text: 'Done.' },
    ]);
    const { exitCode, stdout } = await startAgent(
      ['--json', '--model', 'm', '--base-url', server.baseUrl, 'say one'],
      home,
    ).exited;
    expect(exitCode).toBe(0);
    const events = jsonEvents(stdout);
    expect(events.map((event) => event.type)).toEqual([
      'run_started',
      'model_response',
      'tool_call',
      'tool_result',
      'model_response',
      'run_finished',
    ]);
    const started = events[0];
    if (started?.type !== 'run_started') throw new Error('no run_started');
    const audit = await runCliProcess(['audit', 'tail', '-n', '100', '--session', started.sessionId], home);
    const types = audit.stdout
      .split('\n')
      .map((line) => line.split(' ')[2])
      .filter(Boolean);
    expect(types[0]).toBe('session.created');
    expect(types).toContain('agent.started');
    expect(types.filter((type) => type === 'agent.model_call')).toHaveLength(2);
    expect(types).toContain('command.proposed');
    expect(types.at(-1)).toBe('session.destroyed');
    expect(audit.stdout).toContain(`runId="${started.runId}"`);

    // The same run, read back as one thread.
    const runs = await runCliProcess(['audit', 'runs'], home);
    expect(runs.exitCode).toBe(0);
    expect(runs.stdout).toMatch(
      new RegExp(`^${started.runId}\\s+${started.sessionId}\\s.*\\bm\\s+completed\\s+2\\s+1$`, 'm'),
    );
    const thread = await runCliProcess(['audit', 'thread', started.runId], home);
    expect(thread.exitCode).toBe(0);
    const lines = thread.stdout.split('\n');
    const at = (pattern: RegExp): number => lines.findIndex((line) => pattern.test(line));
    const order = [
      at(/^agent run run_\w+ in session ses_\w+$/),
      at(/ started: openai m$/),
      at(/ step 1: model call, \d+ tokens in, \d+ out, \d+ ms, stop tool_calls/),
      at(/^ {2}\$ echo one$/),
      at(/^ {6}allow(, background)? → completed \(exit 0\)$/),
      at(/ step 1: tool calls run_command$/),
      at(/ step 2: model call/),
      at(/ finished: completed, 2 steps, 1 commands, 0 asks/),
    ];
    expect(
      order.every((index) => index >= 0),
      `${runs.stdout}\n${thread.stdout}\n${JSON.stringify(order)}`,
    ).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    const missing = await runCliProcess(['audit', 'thread', 'run_missing'], home);
    expect(missing.exitCode).toBe(4);
    expect(missing.stderr).toContain('airlock audit runs lists them');
  });

  it('denies rm -rf / and reading ~/.ssh/id_rsa, tells the model why, and the model recovers', async () => {
    const home = agentHome();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'rm -rf /' } }] },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'cat ~/.ssh/id_rsa' } }] },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'env; ls /usr/bin/python3' } }] },
      { text: 'I could not do that; I listed the environment instead.' },
    ]);
    const { exitCode, stdout } = await startAgent(
      ['--model', 'm', '--base-url', server.baseUrl, 'wipe the machine'],
      home,
    ).exited;
    expect(exitCode).toBe(0);
    expect(stdout).toContain('[1] $ rm -rf /\n    ✗ denied');
    expect(stdout).toContain('[2] $ cat ~/.ssh/id_rsa\n    ✗ denied');
    expect(server.received[1]?.toolResults[0]).toMatch(/^not run: denied .*deletes \//s);
    expect(server.received[2]?.toolResults[1]).toMatch(/^not run: denied .*credential or secret store/s);
    // The model was told, and recovered: the sandbox still has its system, and no key reached it.
    const envResult = server.received[3]?.toolResults[2] ?? '';
    expect(envResult).toContain('/usr/bin/python3');
    expect(envResult).not.toContain('OPENAI_API_KEY');
    expect(envResult).not.toContain(MODEL_KEY);
    expect(stdout).not.toContain(MODEL_KEY);
    expect(stdout).toMatch(/completed · 4 steps · 3 commands \(2 denied, 0 asked\)/);
    // The key did reach the provider, where it belongs.
    expect(server.received[0]?.headers['authorization']).toBe(`Bearer ${MODEL_KEY}`);
  });

  it('pages a 2 MB output while every request stays within the context budget', async () => {
    const home = agentHome();
    const pages = 12;
    const pageChars = 6000;
    const server = await scripted([
      {
        toolCalls: [
          {
            name: 'run_command',
            arguments: {
              command:
                "yes 'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz01' | head -n 30000 | cat -n",
            },
          },
        ],
      },
      ...Array.from({ length: pages }, (_, index) => (request: { toolResults: readonly string[] }) => ({
        toolCalls: [
          {
            name: 'read_output',
            arguments: {
              output_id: /out_[0-9a-f]{24}/.exec(request.toolResults[0] ?? '')?.[0] ?? 'missing',
              offset: index * pageChars,
              limit: pageChars,
            },
          },
        ],
      })),
      { text: 'Read enough of the log.' },
    ]);
    const contextTokens = 8000;
    const { exitCode, stdout } = await startAgent(
      [
        '--json',
        '--context-tokens',
        String(contextTokens),
        '--model',
        'm',
        '--base-url',
        server.baseUrl,
        'read the log',
      ],
      home,
    ).exited;
    expect(exitCode).toBe(0);
    const events = jsonEvents(stdout);
    const [first] = events.filter((event) => event.type === 'tool_result');
    // The 2 MB came back shaped: head and tail, and where to page the rest.
    expect(first?.facts).toMatchObject({ status: 'completed', truncated: true });
    expect(first?.text.length).toBeLessThan(12_000);
    const pagesRead = events.filter((event) => event.type === 'tool_result' && event.name === 'read_output');
    expect(pagesRead).toHaveLength(pages);
    expect(pagesRead.every((event) => event.type === 'tool_result' && !event.isError)).toBe(true);
    expect(events.some((event) => event.type === 'context_elided')).toBe(true);
    // What the model was sent: never more than the budget allows (JSON framing and all), although
    // it read far more than that in all.
    const largest = Math.max(...server.received.map((request) => request.raw.length));
    expect(pages * pageChars).toBeGreaterThan(2 * contextTokens * 4);
    expect(largest).toBeLessThan(contextTokens * 4 * 1.5);
    const last = server.received.at(-1);
    expect(last?.toolResults.at(-1)).toContain(`characters ${(pages - 1) * pageChars}–${pages * pageChars}`);
    expect(
      last?.toolResults.slice(1, 4).every((text) => text.includes('elided to keep the context small')),
    ).toBe(true);
  });

  it('keeps working while a long build runs in the background, then collects its result', async () => {
    // A 60 s build: a loop that waited on it would hold the model that long.
    const home = agentHome(
      'router:\n  approvalRequiredFor: []\n  rateLimit: 1000/min\nagent:\n  commandWait: 1s\n',
    );
    const server = await scripted([
      {
        toolCalls: [
          {
            name: 'run_command',
            arguments: { command: 'sleep 60; echo built > build.log; echo build done', timeout_s: 120 },
          },
        ],
      },
      {
        toolCalls: [{ name: 'write_file', arguments: { path: 'NOTES.md', content: 'started the build\n' } }],
      },
      {
        toolCalls: [
          { name: 'run_command', arguments: { command: 'cat NOTES.md; ls build.log || echo not built yet' } },
        ],
      },
      (request) => ({
        toolCalls: [
          {
            name: 'command_status',
            arguments: { command_id: commandIdIn(request.toolResults[0]), wait_s: 90 },
          },
        ],
      }),
      { text: 'The build finished.' },
    ]);
    const started = Date.now();
    const { exitCode, stdout } = await startAgent(
      ['--json', '--model', 'm', '--base-url', server.baseUrl, 'build it'],
      home,
    ).exited;
    expect(exitCode).toBe(0);
    const results = jsonEvents(stdout).filter((event) => event.type === 'tool_result');
    expect(
      results.map((event) => (event.type === 'tool_result' ? (event.facts?.['status'] ?? event.name) : '')),
    ).toEqual(['running', 'completed', 'completed', 'completed']);
    // The model's third call came while the build still slept: the loop did not wait for it.
    const third = server.received[3];
    expect((third?.at ?? Infinity) - started).toBeLessThan(15_000);
    expect(third?.toolResults[2]).toContain('not built yet');
    expect(server.received[4]?.toolResults[3]).toContain('build done');
  }, 150_000);

  it('asks a person, who approves from another process, and the model follows the command up', async () => {
    const home = agentHome('router:\n  approvalRequiredFor: [touch]\n  rateLimit: 1000/min\n');
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'touch approved.txt' } }] },
      (request) => ({
        toolCalls: [
          {
            name: 'command_status',
            arguments: { command_id: commandIdIn(request.toolResults[0]), wait_s: 60 },
          },
        ],
      }),
      { toolCalls: [{ name: 'list_files', arguments: {} }] },
      { text: 'The file exists now.' },
    ]);
    const cli = startAgent(['--model', 'm', '--base-url', server.baseUrl, 'touch the file'], home);
    await cli.waitForOutput(/airlock approvals approve (apr_[0-9a-f]{24})/, 30_000);
    const approvalId = /airlock approvals approve (apr_[0-9a-f]{24})/.exec(cli.stdout())?.[1] ?? '';
    const approved = await runCliProcess(['approvals', 'approve', approvalId], home);
    expect(approved.exitCode).toBe(0);
    const { exitCode, stdout } = await cli.exited;
    expect(exitCode).toBe(0);
    expect(stdout).toContain("? waiting for a person's approval");
    expect(stdout).toMatch(/\[2\] command_status cmd_\w+ \(waits up to 60 s\)\n {4}✓ exit 0/);
    expect(server.received[3]?.toolResults[2]).toContain('approved.txt');
    expect(stdout).toMatch(/completed · 4 steps · 1 commands \(0 denied, 1 asked\)/);
  });

  it('retries a provider error with backoff, and fails with the provider message when it persists', async () => {
    const home = agentHome();
    const flaky = await scripted([
      { error: { status: 503, message: 'overloaded' } },
      { error: { status: 429, message: 'rate limited', headers: { 'retry-after': '0.1' } } },
      { text: 'Here now.' },
    ]);
    const recovered = await startAgent(['--model', 'm', '--base-url', flaky.baseUrl, 'hi'], home).exited;
    expect(recovered.exitCode).toBe(0);
    expect(recovered.stdout).toMatch(
      /! model call failed \(503: .*overloaded\); retrying in [\d.]+ s \(attempt 2 of 5\)/,
    );
    expect(recovered.stdout).toMatch(
      /! model call failed \(429: .*rate limited\); retrying in 0\.1 s \(attempt 3 of 5\)/,
    );
    const down = await scripted(
      Array.from({ length: 5 }, () => ({ error: { status: 500, message: 'down for good' } })),
    );
    const failed = await startAgent(
      ['--model', 'm', '--base-url', down.baseUrl, 'hi'],
      agentHome('agent:\n  attempts: 2\n'),
    ).exited;
    expect(failed.exitCode).toBe(1);
    expect(failed.stdout).toMatch(/failed: .*down for good/);
    expect(down.received).toHaveLength(2);
  });

  it('stops at the step limit and at the token budget, with exit status 3', async () => {
    const home = agentHome();
    const busy = Array.from({ length: 6 }, () => ({
      toolCalls: [{ name: 'run_command', arguments: { command: 'true' } }],
    }));
    const steps = await startAgent(
      ['--max-steps', '2', '--model', 'm', '--base-url', (await scripted(busy)).baseUrl, 'loop'],
      home,
    ).exited;
    expect(steps.exitCode).toBe(3);
    expect(steps.stdout).toContain('stopped: the step limit was reached · 2 steps');
    const costly = busy.map((step) => ({ ...step, usage: { input: 5000, output: 500 } }));
    const budget = await startAgent(
      ['--budget-tokens', '10000', '--model', 'm', '--base-url', (await scripted(costly)).baseUrl, 'spend'],
      home,
    ).exited;
    expect(budget.exitCode).toBe(3);
    expect(budget.stdout).toContain('stopped: the token budget was spent · 2 steps');
  });

  it("speaks Anthropic's Messages API with --model anthropic:NAME", async () => {
    const home = agentHome();
    const server = await scripted([
      {
        text: 'Checking.',
        toolCalls: [{ name: 'check_command', arguments: { command: 'git push origin main' } }],
      },
      { text: 'Pushing would need a person.' },
    ]);
    const { exitCode, stdout } = await startAgent(
      ['--model', 'anthropic:claude-test', '--base-url', server.origin, 'can I push?'],
      home,
      {
        ANTHROPIC_API_KEY: MODEL_KEY,
      },
    ).exited;
    expect(exitCode).toBe(0);
    expect(server.received.map((request) => request.format)).toEqual(['anthropic', 'anthropic']);
    expect(stdout).toContain('[1] check_command: git push origin main');
    expect(server.received[1]?.toolResults[0]).toMatch(/^(ask|deny): /);
    expect(stdout).toContain('[2] Pushing would need a person.');
  });

  it('refuses a bad flag, an unknown model provider key, or no model, with exit status 2', async () => {
    const home = agentHome();
    const noModel = await runCliProcess(['agent', 'run', 'hi'], home);
    expect(noModel.exitCode).toBe(2);
    expect(noModel.stderr).toContain('no model: pass --model');
    const badSteps = await runCliProcess(['agent', 'run', '--max-steps', 'many', '--model', 'm', 'hi'], home);
    expect(badSteps.exitCode).toBe(2);
    const noKey = await runCliProcess(['agent', 'run', '--model', 'anthropic:claude', 'hi'], home);
    expect(noKey.exitCode).toBe(2);
    expect(noKey.stderr).toContain('set ANTHROPIC_API_KEY');
  });

  it('ends the run and its session on Ctrl-C, even mid model call, with a summary and exit status 130', async () => {
    const home = agentHome();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 300', background: true } }] },
      { text: 'x'.repeat(60), pieceDelayMs: 60_000 },
    ]);
    const cli = startAgent(['--model', 'm', '--base-url', server.baseUrl, 'wait forever'], home);
    await cli.waitForOutput(/running in the background/, 30_000);
    while (server.received.length < 2) await new Promise((resolve) => setTimeout(resolve, 50));
    const interruptedAt = Date.now();
    cli.child.kill('SIGINT');
    const { exitCode, stdout, stderr } = await cli.exited;
    expect(exitCode).toBe(130);
    // The model call in flight is abandoned, not waited out (its next piece is a minute away).
    expect(Date.now() - interruptedAt).toBeLessThan(10_000);
    expect(stderr).toMatch(/interrupted: interrupted · 2 steps · 1 commands/);
    const sessionId = /session (ses_\w+)/.exec(stdout)?.[1] ?? '';
    const sessions = await runCliProcess(['sessions', 'ls', '--json'], home);
    const records = sessions.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { id: string; state: string });
    expect(records.find((record) => record.id === sessionId)?.state).toBe('ended');
  });
});
