import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashEvent } from './audit-chain.ts';
import { EXPORT_PAGE_SIZE, exportAuditJsonl, formatAuditEvent } from './audit-export.ts';
import { openSqliteStore } from './sqlite-store.ts';
import { alert, makeTempDir, type TempDir } from './test-support.ts';
import type { AuditEvent, Store } from './types.ts';

describe('exportAuditJsonl', () => {
  let dir: TempDir;
  let store: Store;

  beforeEach(() => {
    dir = makeTempDir();
    store = openSqliteStore({ path: join(dir.path, 'airlock.db') });
  });

  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('streams every event as one JSON line in pages, and the lines re-verify away from the store', async () => {
    const total = EXPORT_PAGE_SIZE * 2 + 7;
    for (let i = 0; i < total; i += 100) {
      const events = Array.from({ length: Math.min(100, total - i) }, (_, j) => ({
        ...alert({ n: i + j }),
        sessionId: (i + j) % 2 === 0 ? 'even' : 'odd',
      }));
      await store.commit({ events });
    }
    const requestedLimits: number[] = [];
    const counting: Store = {
      ...store,
      listEvents: (query) => {
        requestedLimits.push(query?.limit ?? 0);
        return store.listEvents(query);
      },
    };
    const lines: string[] = [];
    const written = await exportAuditJsonl(counting, async (line) => {
      lines.push(line);
    });
    expect(written).toBe(total);
    expect(lines).toHaveLength(total);
    expect(Math.max(...requestedLimits)).toBeLessThanOrEqual(EXPORT_PAGE_SIZE);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);

    let prevHash = '';
    for (const line of lines) {
      const event = JSON.parse(line) as AuditEvent;
      expect(event.prevHash).toBe(prevHash);
      expect(hashEvent(prevHash, event)).toBe(event.hash);
      prevHash = event.hash;
    }
  });

  it('filters by session and stops at maxEvents', async () => {
    await store.commit({
      events: [
        { ...alert({ n: 1 }), sessionId: 's1' },
        { ...alert({ n: 2 }), sessionId: 's2' },
        { ...alert({ n: 3 }), sessionId: 's1' },
        { ...alert({ n: 4 }), sessionId: 's1' },
      ],
    });
    const lines: string[] = [];
    expect(
      await exportAuditJsonl(store, (line) => void lines.push(line), { sessionId: 's1', maxEvents: 2 }),
    ).toBe(2);
    expect(lines.map((line) => (JSON.parse(line) as AuditEvent).data['n'])).toEqual([1, 3]);
  });
});

describe('formatAuditEvent', () => {
  const base: AuditEvent = {
    seq: 42,
    at: '2025-01-01T00:00:00.000Z',
    type: 'command.proposed',
    sessionId: 's1',
    commandId: 'c1',
    data: { command: 'ls', decision: 'allow' },
    prevHash: '',
    hash: 'h',
  };

  it('renders time, seq, type, session, command and the data on one line', () => {
    expect(formatAuditEvent(base)).toBe(
      '2025-01-01T00:00:00.000Z #42 command.proposed session=s1 command=c1 command="ls" decision="allow"',
    );
    expect(formatAuditEvent({ ...base, sessionId: null, commandId: null, data: {} })).toBe(
      '2025-01-01T00:00:00.000Z #42 command.proposed session=- command=-',
    );
  });

  it('escapes terminal controls, newlines and bidi characters an agent put in a command', () => {
    const hostile: AuditEvent = {
      ...base,
      sessionId: 's1\u001b[2J',
      data: { command: 'echo ok\rrm -rf ~\n\u202etxt.exe\u200b', nested: { a: ['\u0007'] } },
    };
    const line = formatAuditEvent(hostile);
    // eslint-disable-next-line no-control-regex -- asserting no control character survives is the point
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u200b-\u200f\u2066-\u2069]/);
    expect(line).toContain('\\r');
    expect(line).toContain('\\n');
    expect(line).toContain('\\u{202e}');
  });

  it('keeps long data to a bounded summary', () => {
    const line = formatAuditEvent({
      ...base,
      data: { command: 'x'.repeat(10_000), more: 'y'.repeat(10_000) },
    });
    expect(line.length).toBeLessThan(400);
  });
});
