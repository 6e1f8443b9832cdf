import { describe, expect, it } from 'vitest';
import type { NodeRow } from '../cluster/index.ts';
import { formatNodes } from './cluster-command.ts';

function node(overrides: Partial<NodeRow>): NodeRow {
  return {
    nodeId: 'node-a',
    advertiseUrl: 'http://127.0.0.1:7400',
    owner: 'owner-a',
    state: 'live',
    startedAt: '2026-01-01T00:00:00.000Z',
    heartbeatAt: '2026-01-01T00:00:00.000Z',
    heartbeatAgeS: 0.2,
    lostReason: null,
    sessions: 2,
    maxSessions: 10,
    memoryFreeBytes: 512,
    memoryTotalBytes: 1024,
    ...overrides,
  };
}

describe('airlock cluster status table', () => {
  it('lists each node on one line with its state, sessions and heartbeat', () => {
    const text = formatNodes([
      node({}),
      node({ nodeId: 'node-b', state: 'lost', lostReason: 'no heartbeat' }),
    ]);
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(/^node-a\s+live\s+2\s+10\s+50%\s+0\.2s ago/);
    expect(lines[2]).toMatch(/^node-b\s+lost\s+.*no heartbeat$/);
  });

  it('escapes control characters a database writer put in ids, addresses and reasons (adversarial)', () => {
    const hostile = [
      node({
        nodeId: 'node-\u001b[2Kevil',
        advertiseUrl: 'http://127.0.0.1:1/\rX',
        state: 'lost',
        lostReason: 'gone\nnode-z  live  0  10  100%  0.0s ago  http://fake.test',
      }),
      node({ nodeId: 'node-\u202ereversed\u0007' }),
    ];
    const text = formatNodes(hostile);
    // One header and one line per node: no forged line, no terminal escape, no bidi override.
    expect(text.trimEnd().split('\n')).toHaveLength(3);
    // eslint-disable-next-line no-control-regex -- checking no control character is left is the point
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/);
    expect(text).toContain('node-\\e[2Kevil');
    expect(text).toContain('\\r');
    expect(text).toContain('\\u{202e}');
  });
});
