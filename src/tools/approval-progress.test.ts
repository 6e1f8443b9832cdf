import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Airlock } from '../airlock/index.ts';
import type { ApprovalRecord } from '../store/index.ts';
import { reportCommandApprovalWait } from './approval-progress.ts';
import type { ToolCall } from './registrar.ts';

const approvalId = 'apr_0123456789abcdef01234567';

/** An approval that is pending until `decide` is called, counting how often it was read. */
function approvalStore(startMs: number) {
  let status: ApprovalRecord['status'] = 'pending';
  const reads = { count: 0 };
  const airlock = {
    approvals: {
      get: async (id: string) => {
        reads.count += 1;
        return { id, status, expiresAt: new Date(startMs + 60_000).toISOString() };
      },
    },
  } as unknown as Airlock;
  return {
    airlock,
    reads,
    decide: (decision: ApprovalRecord['status']) => {
      status = decision;
    },
  };
}

/** A tool call whose caller listens for progress, collecting the messages sent. */
function progressCall(): { extra: ToolCall; messages: string[] } {
  const messages: string[] = [];
  const extra: ToolCall = {
    signal: new AbortController().signal,
    reportProgress: async (message) => {
      messages.push(message);
    },
  };
  return { extra, messages };
}

describe('reportCommandApprovalWait', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_000_000 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts down while the approval is pending, then says the command runs, reading it no more', async () => {
    const { airlock, reads, decide } = approvalStore(Date.now());
    const { extra, messages } = progressCall();
    const stop = reportCommandApprovalWait(airlock, extra, approvalId, {
      intervalMs: 1000,
      now: Date.now,
    });
    await vi.advanceTimersByTimeAsync(2000);
    expect(messages).toHaveLength(3);
    for (const message of messages) {
      expect(message).toMatch(
        /^waiting for a person's approval of apr_\w+ \(\d+ s so far; undecided in \d+ s/,
      );
    }

    decide('approved');
    await vi.advanceTimersByTimeAsync(3000);
    stop();
    const after = messages.slice(3);
    expect(after).toEqual([
      `approved (${approvalId}); running (3 s so far)`,
      `approved (${approvalId}); running (4 s so far)`,
      `approved (${approvalId}); running (5 s so far)`,
    ]);
    // Three reads while pending, one that found the decision, none after.
    expect(reads.count).toBe(4);
  });

  it('goes quiet once the approval was denied', async () => {
    const { airlock, decide } = approvalStore(Date.now());
    const { extra, messages } = progressCall();
    const stop = reportCommandApprovalWait(airlock, extra, approvalId, {
      intervalMs: 1000,
      now: Date.now,
    });
    await vi.advanceTimersByTimeAsync(0);
    decide('denied');
    await vi.advanceTimersByTimeAsync(3000);
    stop();
    expect(messages).toHaveLength(1);
    expect(messages.join('\n')).not.toContain('running');
  });
});
