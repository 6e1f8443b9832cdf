import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApprovalRecord, AuditEventInput, CommandRecord, OutputRecord, SessionRecord } from './types.ts';

/** Test fixtures for the store's suites; not part of the store's public surface. */

export interface TempDir {
  readonly path: string;
  remove(): void;
}

export function makeTempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'airlock-store-'));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function session(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    state: 'active',
    driver: 'bwrap',
    sandboxId: null,
    spec: { policy: 'default', limits: { memoryBytes: 536870912, cpus: 1.5 }, tags: ['a', 'ü😀'], ttl: null },
    owner: 'host-1:1234',
    createdAt: '2025-01-01T00:00:00.000Z',
    lastActiveAt: '2025-01-01T00:00:00.000Z',
    expiresAt: null,
    endedAt: null,
    endReason: null,
    ...overrides,
  };
}

export function command(
  id: string,
  sessionId: string,
  overrides: Partial<CommandRecord> = {},
): CommandRecord {
  return {
    id,
    sessionId,
    command: 'ls -la /workspace',
    state: 'proposed',
    background: false,
    decision: null,
    reasons: [],
    approvalId: null,
    exitCode: null,
    signal: null,
    outputId: null,
    createdAt: '2025-01-01T00:00:01.000Z',
    startedAt: null,
    finishedAt: null,
    durationMs: null,
    ...overrides,
  };
}

export function approval(
  id: string,
  sessionId: string,
  overrides: Partial<ApprovalRecord> = {},
): ApprovalRecord {
  return {
    id,
    sessionId,
    commandId: null,
    action: 'command',
    subject: 'rm -rf build',
    parsed: ['rm -rf build'],
    reasons: ['rm deletes files'],
    status: 'pending',
    createdAt: '2025-01-01T00:00:02.000Z',
    expiresAt: '2025-01-01T00:05:02.000Z',
    decidedAt: null,
    decidedBy: null,
    decisionReason: null,
    remember: false,
    grants: [],
    scope: null,
    ...overrides,
  };
}

export function output(
  id: string,
  sessionId: string,
  commandId: string,
  overrides: Partial<OutputRecord> = {},
): OutputRecord {
  return {
    id,
    sessionId,
    commandId,
    stdout: 'hello\n',
    stderr: '',
    stdoutTotalBytes: 6,
    stderrTotalBytes: 0,
    createdAt: '2025-01-01T00:00:03.000Z',
    ...overrides,
  };
}

export function alert(data: AuditEventInput['data'] = {}): AuditEventInput {
  return { type: 'resource.alert', sessionId: null, commandId: null, data };
}
