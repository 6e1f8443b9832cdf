import { describe, expect, it } from 'vitest';
import type { AgentEvent } from '../agent/index.ts';
import { createTranscript, printable } from './agent-transcript.ts';
import { paintFor } from './terminal.ts';

function render(events: readonly AgentEvent[], colour = false): string {
  let out = '';
  const show = createTranscript(
    (text) => void (out += text),
    paintFor({ isTTY: colour }, colour ? {} : { NO_COLOR: '1' }),
  );
  for (const event of events) show(event);
  return out;
}

const step = 1;

describe('the agent transcript', () => {
  it('shows the model streaming, each command with its outcome, approvals and a summary', () => {
    const out = render([
      { type: 'model_text', step, text: 'Let me ' },
      { type: 'model_text', step, text: 'look.' },
      {
        type: 'model_response',
        step,
        text: 'Let me look.',
        toolCalls: [],
        stopReason: 'tool_calls',
        tokens: { input: 10, output: 2 },
        tokensReported: true,
        latencyMs: 5,
      },
      { type: 'tool_call', step, id: 'c1', name: 'run_command', arguments: '{"command":"touch x"}' },
      {
        type: 'tool_result',
        step,
        id: 'c1',
        name: 'run_command',
        text: 'not run yet: a person must approve it (approval apr_1).',
        isError: false,
        facts: { status: 'pending_approval', approvalId: 'apr_1' },
        durationMs: 3,
      },
      { type: 'approval_requested', step, approvalId: 'apr_1', commandId: 'cmd_1', subject: 'touch x' },
      {
        type: 'run_finished',
        runId: 'run_1',
        sessionId: 'ses_1',
        status: 'completed',
        steps: 2,
        commands: 1,
        denied: 0,
        asks: 1,
        tokens: { input: 1234, output: 56 },
        durationMs: 4200,
        finalText: 'ok',
        error: null,
      },
    ]);
    expect(out).toContain('[1] Let me look.\n');
    expect(out).toContain('[1] $ touch x\n');
    expect(out).toContain("? waiting for a person's approval (apr_1)");
    expect(out).toContain('a person approves with: airlock approvals approve apr_1');
    expect(out).toContain(
      'completed · 2 steps · 1 commands (0 denied, 1 asked) · 1,234 tokens in, 56 out · 4.2 s',
    );
    expect(out).not.toContain('\x1b[');
  });

  it('colours only a terminal', () => {
    const event: AgentEvent = {
      type: 'tool_call',
      step,
      id: 'c',
      name: 'run_command',
      arguments: '{"command":"ls"}',
    };
    expect(render([event], true)).toContain('\x1b[1m');
    expect(render([event], false)).not.toContain('\x1b');
  });

  it('escapes control characters from a sandbox or a model, so output cannot drive the terminal (adversarial)', () => {
    const hostile = 'ok\x1b[2J\x1b]0;pwned\x07\r[1] $ rm -rf ~ \u202eevil\x9b31m';
    const out = render([
      { type: 'model_text', step, text: hostile },
      {
        type: 'tool_call',
        step,
        id: 'c',
        name: 'run_command',
        arguments: JSON.stringify({ command: hostile }),
      },
      {
        type: 'tool_result',
        step,
        id: 'c',
        name: 'run_command',
        text: hostile,
        isError: false,
        facts: { status: 'completed', exitCode: 0 },
        durationMs: 1,
      },
    ]);
    // eslint-disable-next-line no-control-regex -- the point: no control character may be left
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
    expect(out).toContain('\\u001b[2J');
    expect(printable('a\tb\nc')).toBe('a\tb\nc');
  });

  it('cuts long output for the person, saying how much is not shown', () => {
    const text = Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n');
    const out = render([
      {
        type: 'tool_result',
        step,
        id: 'c',
        name: 'run_command',
        text,
        isError: false,
        facts: { status: 'completed', exitCode: 0 },
        durationMs: 1,
      },
    ]);
    expect(out).toContain('line 11');
    expect(out).not.toContain('line 12\n');
    expect(out).toContain('… 28 more lines, not shown here');
  });
});
