import { describe, expect, it } from 'vitest';
import type { RunResult } from '../router/index.ts';
import { approvalWaitMessage } from './approval-progress.ts';
import { commandResult, errorResult } from './tool-results.ts';

const base: RunResult = {
  id: 'cmd_1',
  sessionId: 'ses_1',
  command: 'touch x',
  status: 'pending_approval',
  exitCode: null,
  signal: null,
  oomKilled: false,
  stdout: '',
  stderr: '',
  truncated: false,
  outputId: null,
  durationMs: 3,
  decision: 'ask',
  reasons: ['touch needs a person'],
  ruleIds: ['approval-required-0'],
  approvalId: 'apr_1',
  retryAfterMs: null,
  error: null,
  refusedHosts: [],
  forModel: 'not run yet: a person must approve it (approval apr_1).',
};

describe('MCP tool results', () => {
  it('carry the router text for the model and the facts as structured content', () => {
    const result = commandResult(base);
    expect(result.isError).toBeUndefined();
    expect(result.content).toEqual([
      {
        type: 'text',
        text: `${base.forModel}\nCheck whether it ran with command_status {"command_id": "cmd_1"}.`,
      },
    ]);
    expect(result.structuredContent).toMatchObject({
      commandId: 'cmd_1',
      status: 'pending_approval',
      approvalId: 'apr_1',
    });
  });

  it('name the error code for the model and for programs, with no structured content', () => {
    const result = errorResult(
      { code: 'PATH_OUTSIDE_SANDBOX', message: 'path "../x" contains ".."' },
      'hint',
    );
    expect(result).toEqual({
      isError: true,
      content: [{ type: 'text', text: 'error PATH_OUTSIDE_SANDBOX: path "../x" contains ".."\nhint' }],
      _meta: { 'airlock/error': { code: 'PATH_OUTSIDE_SANDBOX', message: 'path "../x" contains ".."' } },
    });
  });
});

describe('approval wait messages', () => {
  it('say what is awaited, for how long, until when, and how a person approves', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const message = approvalWaitMessage(
      { approvalId: 'apr_1', expiresAt: '2026-01-01T00:04:00Z' },
      12_400,
      now,
    );
    expect(message).toBe(
      "waiting for a person's approval of apr_1 (12 s so far; undecided in 240 s means denied); " +
        'a person approves with: airlock approvals approve apr_1',
    );
  });

  it('never promise a negative deadline, and work before the request id is known', () => {
    const now = Date.parse('2026-01-01T00:10:00Z');
    expect(approvalWaitMessage({ approvalId: null, expiresAt: '2026-01-01T00:04:00Z' }, 0, now)).toBe(
      "waiting for a person's approval (0 s so far; undecided in 0 s means denied); they see it in airlock approvals ls",
    );
  });
});
