/**
 * The agent loop on the in-memory driver (real router, policy, store) against the scripted model
 * server, through the real provider SDKs, in both wire formats.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Airlock } from '../airlock/index.ts';
import { openMemoryAirlock } from '../../test/support/memory-airlock.ts';
import { commandIdIn, startModelServer } from '../../test/support/model-server.ts';
import type { ModelServer, ScriptStep, WireFormat } from '../../test/support/model-server.ts';
import type { AgentEvent, AgentRunOptions, AgentSummary } from './index.ts';

const servers: ModelServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
});

const KEY = 'sk-test-agent-key-0123456789abcdef';

async function scripted(script: readonly ScriptStep[]): Promise<ModelServer> {
  const server = await startModelServer(script);
  servers.push(server);
  return server;
}

/** The model name and endpoint for a format: `anthropic:` goes to the Anthropic SDK. */
function target(format: WireFormat, server: ModelServer): Pick<AgentRunOptions, 'model' | 'baseUrl'> {
  return format === 'openai'
    ? { model: 'scripted-model', baseUrl: server.baseUrl }
    : { model: 'anthropic:scripted-model', baseUrl: server.origin };
}

async function runToEnd(
  airlock: Airlock,
  options: AgentRunOptions,
  onEvent: (event: AgentEvent) => void | Promise<void> = () => undefined,
): Promise<{ events: AgentEvent[]; summary: AgentSummary }> {
  const events: AgentEvent[] = [];
  const run = airlock.agents.run(options);
  for (;;) {
    const next = await run.next();
    if (next.done === true) return { events, summary: next.value };
    events.push(next.value);
    await onEvent(next.value);
  }
}

function results(events: readonly AgentEvent[]) {
  return events.filter(
    (event): event is Extract<AgentEvent, { type: 'tool_result' }> => event.type === 'tool_result',
  );
}

async function plane(router: Record<string, unknown> = {}) {
  const { airlock } = await openMemoryAirlock({
    config: { router: { approvalRequiredFor: [], rateLimit: '1000/min', ...router } },
    envExtra: { OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY },
  });
  return airlock;
}

describe.each(['openai', 'anthropic'] as const)('the agent loop over the %s wire format', (format) => {
  it('solves a task in several steps, each tool result fed back to the model', async () => {
    const airlock = await plane();
    const server = await scripted([
      {
        text: 'I will write the file.',
        toolCalls: [{ name: 'write_file', arguments: { path: 'notes.txt', content: 'forty-two\n' } }],
      },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'cat notes.txt' } }] },
      (request) => ({
        text: `The file says: ${request.toolResults.at(-1)?.includes('forty-two') ? 'forty-two' : '?'}`,
      }),
    ]);
    const { events, summary } = await runToEnd(airlock, {
      task: 'note the answer',
      ...target(format, server),
    });
    expect(summary).toMatchObject({
      status: 'completed',
      steps: 3,
      commands: 1,
      denied: 0,
      finalText: 'The file says: forty-two',
    });
    expect(server.received).toHaveLength(3);
    expect(server.received.every((request) => request.format === format && request.stream)).toBe(true);
    expect(server.received[1]?.toolResults.at(-1)).toContain('wrote 10 bytes to notes.txt');
    expect(server.received[2]?.toolResults.at(-1)).toContain('forty-two');
    // Streamed: the deltas of the first answer add up to its text.
    const deltas = events
      .filter((e) => e.type === 'model_text' && e.step === 1)
      .map((e) => (e as { text: string }).text);
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('I will write the file.');
    expect(events[0]).toMatchObject({ type: 'run_started', provider: format });
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', status: 'completed' });
    // The key went to the provider in the header its SDK sends it in.
    const headers = server.received[0]?.headers ?? {};
    expect(headers['x-api-key'] ?? headers['authorization']?.replace(/^Bearer /, '')).toBe(KEY);
  });

  it('tells the model why rm -rf / and reading ~/.ssh/id_rsa are refused, and it recovers', async () => {
    const airlock = await plane();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'rm -rf /' } }] },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'cat ~/.ssh/id_rsa' } }] },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'echo cleaned the workspace instead' } }] },
      { text: 'Done another way.' },
    ]);
    const { events, summary } = await runToEnd(airlock, { task: 'clean up', ...target(format, server) });
    expect(summary).toMatchObject({ status: 'completed', commands: 3, denied: 2 });
    const [first, second, third] = results(events);
    expect(first?.facts).toMatchObject({ status: 'denied', decision: 'deny' });
    expect(second?.facts).toMatchObject({ status: 'denied', decision: 'deny' });
    expect(third?.facts).toMatchObject({ status: 'completed', exitCode: 0 });
    // What the model was told, in the requests it got: denied, and why.
    expect(server.received[1]?.toolResults[0]).toMatch(/^not run: denied .*\n- rm -rf \/: deletes \//s);
    expect(server.received[2]?.toolResults[1]).toMatch(
      /^not run: denied .*id_rsa.*credential or secret store/s,
    );
  });

  it('retries a rate limit and a server error with backoff, then goes on', async () => {
    const airlock = await plane();
    const server = await scripted([
      { error: { status: 429, message: 'slow down', headers: { 'retry-after-ms': '30' } } },
      { error: { status: 500, message: 'upstream hiccup' } },
      { text: 'Fine now.' },
    ]);
    const { events, summary } = await runToEnd(airlock, {
      task: 'hi',
      retryBaseDelayMs: 20,
      ...target(format, server),
    });
    expect(summary.status).toBe('completed');
    const retries = events.filter((event) => event.type === 'model_retry');
    expect(retries).toMatchObject([
      { status: 429, attempt: 1, delayMs: 30 },
      { status: 500, attempt: 2 },
    ]);
    expect(server.received).toHaveLength(3);
  });

  it('gives up after the attempts it was given, and never retries a refused key', async () => {
    const airlock = await plane();
    const failing = await scripted([
      { error: { status: 503, message: 'down' } },
      { error: { status: 503, message: 'still down' } },
    ]);
    const failed = await runToEnd(airlock, {
      task: 'hi',
      attempts: 2,
      retryBaseDelayMs: 1,
      ...target(format, failing),
    });
    expect(failed.summary).toMatchObject({ status: 'failed', steps: 1, error: { status: 503 } });
    expect(failed.summary.error?.message).toContain('still down');
    expect(failing.received).toHaveLength(2);
    const refusing = await scripted([{ error: { status: 401, message: 'bad key' } }, { text: 'never sent' }]);
    const refused = await runToEnd(airlock, { task: 'hi', retryBaseDelayMs: 1, ...target(format, refusing) });
    expect(refused.summary).toMatchObject({ status: 'failed', error: { status: 401 } });
    expect(refusing.received).toHaveLength(1);
  });
});

describe('the agent loop', () => {
  it('stops at the step limit when the model still wants tools', async () => {
    const airlock = await plane();
    const server = await scripted(
      Array.from({ length: 5 }, () => ({
        toolCalls: [{ name: 'run_command', arguments: { command: 'echo again' } }],
      })),
    );
    const { summary } = await runToEnd(airlock, { task: 'loop', maxSteps: 3, ...target('openai', server) });
    expect(summary).toMatchObject({ status: 'max_steps', steps: 3, commands: 3 });
    expect(server.received).toHaveLength(3);
  });

  it('stops once the token budget is spent, counting what the provider reports', async () => {
    const airlock = await plane();
    const call = {
      toolCalls: [{ name: 'run_command', arguments: { command: 'echo step' } }],
      usage: { input: 600, output: 100 },
    };
    const server = await scripted([call, call, call, call]);
    const { summary } = await runToEnd(airlock, {
      task: 'spend',
      budgetTokens: 1500,
      ...target('openai', server),
    });
    expect(summary).toMatchObject({
      status: 'budget_exhausted',
      steps: 3,
      tokens: { input: 1800, output: 300 },
    });
    expect(server.received).toHaveLength(3);
  });

  it('answers running for a long command and keeps working while it runs', async () => {
    const airlock = await plane();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 2; echo built' } }] },
      { toolCalls: [{ name: 'run_command', arguments: { command: 'echo meanwhile' } }] },
      (request) => ({
        toolCalls: [
          {
            name: 'command_status',
            arguments: { command_id: commandIdIn(request.toolResults[0]), wait_s: 30 },
          },
        ],
      }),
      { text: 'Built.' },
    ]);
    const times: Array<{ name: string; status: unknown; at: number }> = [];
    const { summary } = await runToEnd(
      airlock,
      { task: 'build', commandWaitMs: 200, ...target('openai', server) },
      (event) => {
        if (event.type === 'tool_result')
          times.push({ name: event.name, status: event.facts?.['status'], at: Date.now() });
      },
    );
    expect(summary.status).toBe('completed');
    expect(times.map((t) => `${t.name}:${String(t.status)}`)).toEqual([
      'run_command:running',
      'run_command:completed',
      'command_status:completed',
    ]);
    // The second command finished while the first still slept: the loop did not wait for it.
    expect((times[1]?.at ?? 0) - (times[0]?.at ?? 0)).toBeLessThan(1500);
    expect(server.received[1]?.toolResults[0]).toMatch(
      /^still running after 0.2 s; it goes on in the background/,
    );
    expect(server.received[3]?.toolResults[2]).toContain('built');
  });

  it('returns a pending approval as a result at once; the person decides and the model follows up', async () => {
    const airlock = await plane({ approvalRequiredFor: ['touch'] });
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'touch ready' } }] },
      (request) => ({
        toolCalls: [
          {
            name: 'command_status',
            arguments: { command_id: commandIdIn(request.toolResults[0]), wait_s: 30 },
          },
        ],
      }),
      { text: 'Touched.' },
    ]);
    let askedAt = 0;
    const { events, summary } = await runToEnd(
      airlock,
      { task: 'touch it', ...target('openai', server) },
      async (event) => {
        if (event.type === 'approval_requested') {
          askedAt = Date.now();
          await airlock.approvals.approve(event.approvalId, { decidedBy: 'test' });
        }
      },
    );
    expect(askedAt).toBeGreaterThan(0);
    expect(summary).toMatchObject({ status: 'completed', asks: 1 });
    const [pending, settled] = results(events);
    expect(pending?.facts).toMatchObject({ status: 'pending_approval', decision: 'ask' });
    expect(pending?.durationMs).toBeLessThan(2000);
    expect(settled?.facts).toMatchObject({ status: 'completed', exitCode: 0 });
    expect(server.received[1]?.toolResults[0]).toMatch(/a person must approve it \(approval apr_/);
  });

  it('answers a call to a tool that does not exist, or with bad arguments, as a result the model reads', async () => {
    const airlock = await plane();
    const server = await scripted([
      {
        toolCalls: [
          { name: 'format_disk', arguments: {} },
          { name: 'run_command', arguments: { cmd: 'ls' } },
        ],
      },
      { text: 'Understood.' },
    ]);
    const { events, summary } = await runToEnd(airlock, { task: 'x', ...target('openai', server) });
    expect(summary.status).toBe('completed');
    const [unknown, bad] = results(events);
    expect(unknown).toMatchObject({ isError: true });
    expect(unknown?.text).toMatch(/no tool "format_disk".*The tools are: run_command, /s);
    expect(bad?.text).toMatch(/bad arguments for run_command: command: /);
  });

  it('keeps keys out: redacted in what the model says, absent from the sandbox and the audit log', async () => {
    const airlock = await plane();
    const server = await scripted([
      {
        text: `My key might be ${KEY}.`,
        toolCalls: [{ name: 'run_command', arguments: { command: 'printenv' } }],
      },
      { text: 'ok' },
    ]);
    const { events } = await runToEnd(airlock, {
      task: `use ${KEY}`,
      recordPrompts: true,
      ...target('openai', server),
    });
    const shown = JSON.stringify(events);
    expect(shown).not.toContain(KEY);
    expect(shown).toContain('[REDACTED:env:OPENAI_API_KEY]');
    expect(results(events)[0]?.text).not.toContain('sk-test');
    const lines: string[] = [];
    await airlock.audit.exportJsonl((line) => void lines.push(line));
    expect(lines.some((line) => line.includes('agent.model_call'))).toBe(true);
    expect(lines.join('\n')).not.toContain(KEY);
  });

  it('records the run in the session chain, without the prompt text unless asked', async () => {
    const airlock = await plane();
    const server = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'echo hi' } }] },
      { text: 'done' },
    ]);
    const { summary, events } = await runToEnd(airlock, {
      task: 'a secret plan',
      ...target('openai', server),
    });
    const sessionId = events[0]?.type === 'run_started' ? events[0].sessionId : '';
    const trail = await airlock.audit.list({ sessionId });
    const types = trail.map((event) => event.type);
    expect(types.filter((type) => type.startsWith('agent.'))).toEqual([
      'agent.started',
      'agent.model_call',
      'agent.step',
      'agent.model_call',
      'agent.finished',
    ]);
    // One thread: the commands sit between the model call that asked for them and the step.
    expect(types.indexOf('command.proposed')).toBeGreaterThan(types.indexOf('agent.model_call'));
    expect(types.indexOf('command.proposed')).toBeLessThan(types.indexOf('agent.step'));
    const call = trail.find((event) => event.type === 'agent.model_call');
    expect(call?.data).toMatchObject({
      model: 'scripted-model',
      provider: 'openai',
      step: 1,
      stopReason: 'tool_calls',
    });
    expect(typeof call?.data['tokensIn']).toBe('number');
    expect(JSON.stringify(trail)).not.toContain('a secret plan');
    expect(trail.find((event) => event.type === 'agent.finished')?.data).toMatchObject({
      status: 'completed',
      steps: summary.steps,
    });
    // The run's session ended with the run.
    expect((await airlock.sessions.info(sessionId)).state).toBe('ended');
  });

  it('ends the run and its session when the caller aborts, or stops reading', async () => {
    const airlock = await plane();
    const slow = await scripted([{ text: 'x'.repeat(300), pieceDelayMs: 2000 }]);
    const abort = new AbortController();
    const aborted = await runToEnd(
      airlock,
      { task: 'slow', signal: abort.signal, ...target('openai', slow) },
      (event) => {
        if (event.type === 'model_text') abort.abort();
      },
    );
    expect(aborted.summary.status).toBe('aborted');
    const stopping = await scripted([
      { toolCalls: [{ name: 'run_command', arguments: { command: 'sleep 60', background: true } }] },
    ]);
    const run = airlock.agents.run({ task: 'stop me', ...target('openai', stopping) });
    const started = (await run.next()).value as AgentEvent;
    await run.return(undefined as never);
    const sessionId = started.type === 'run_started' ? started.sessionId : '';
    expect((await airlock.sessions.info(sessionId)).state).toBe('ended');
    const finished = (await airlock.audit.list({ sessionId })).find(
      (event) => event.type === 'agent.finished',
    );
    expect(finished?.data).toMatchObject({ status: 'aborted' });
  });

  it('refuses a run without a model or a key before anything starts', async () => {
    const airlock = await plane();
    await expect(airlock.agents.run({ task: 'x' }).next()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      airlock.agents.run({ task: ' ', model: 'm', baseUrl: 'http://127.0.0.1:1/v1' }).next(),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const { airlock: keyless } = await openMemoryAirlock();
    await expect(keyless.agents.run({ task: 'x', model: 'anthropic:claude' }).next()).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('ANTHROPIC_API_KEY'),
    });
    expect(await keyless.sessions.list({ state: 'active' })).toEqual([]);
  });
});
