import type { SQLInputValue, SQLOutputValue } from 'node:sqlite';
import { AirlockError } from '../errors/index.ts';
import { canonicalJson } from './canonical-json.ts';
import { grantScopes } from './types.ts';
import type {
  ApprovalGrant,
  ApprovalRecord,
  ApprovalStatus,
  CommandRecord,
  CommandState,
  GrantScope,
  JsonObject,
  OutputRecord,
  SessionRecord,
  SessionState,
  Store,
} from './types.ts';

/**
 * Records ⇄ rows. Reading checks every column's type: the file can be edited outside Airlock, and a
 * record that does not have the shape the port promises must fail here, loudly, not deep in a caller.
 */

export type Row = Record<string, SQLOutputValue>;
export type Params = Record<string, SQLInputValue>;

export function sessionParams(session: SessionRecord): Params {
  return {
    id: session.id,
    state: session.state,
    driver: session.driver,
    sandbox_id: session.sandboxId,
    spec: canonicalJson(session.spec),
    owner: session.owner,
    created_at: session.createdAt,
    last_active_at: session.lastActiveAt,
    expires_at: session.expiresAt,
    ended_at: session.endedAt,
    end_reason: session.endReason,
  };
}

export function sessionFromRow(row: Row): SessionRecord {
  const read = columns(row, 'sessions');
  return {
    id: read.text('id'),
    state: read.text('state') as SessionState,
    driver: read.text('driver'),
    sandboxId: read.textOrNull('sandbox_id'),
    spec: read.jsonObject('spec'),
    owner: read.text('owner'),
    createdAt: read.text('created_at'),
    lastActiveAt: read.text('last_active_at'),
    expiresAt: read.textOrNull('expires_at'),
    endedAt: read.textOrNull('ended_at'),
    endReason: read.textOrNull('end_reason'),
  };
}

export function commandParams(command: CommandRecord): Params {
  return {
    id: command.id,
    session_id: command.sessionId,
    command: command.command,
    state: command.state,
    background: flag(command.background),
    decision: command.decision,
    reasons: canonicalJson(command.reasons),
    approval_id: command.approvalId,
    exit_code: command.exitCode,
    signal: command.signal,
    output_id: command.outputId,
    created_at: command.createdAt,
    started_at: command.startedAt,
    finished_at: command.finishedAt,
    duration_ms: command.durationMs,
  };
}

export function commandFromRow(row: Row): CommandRecord {
  const read = columns(row, 'commands');
  return {
    id: read.text('id'),
    sessionId: read.text('session_id'),
    command: read.text('command'),
    state: read.text('state') as CommandState,
    background: read.flag('background'),
    decision: read.textOrNull('decision') as CommandRecord['decision'],
    reasons: read.stringArray('reasons'),
    approvalId: read.textOrNull('approval_id'),
    exitCode: read.numberOrNull('exit_code'),
    signal: read.textOrNull('signal'),
    outputId: read.textOrNull('output_id'),
    createdAt: read.text('created_at'),
    startedAt: read.textOrNull('started_at'),
    finishedAt: read.textOrNull('finished_at'),
    durationMs: read.numberOrNull('duration_ms'),
  };
}

export function approvalParams(approval: ApprovalRecord): Params {
  return {
    id: approval.id,
    session_id: approval.sessionId,
    command_id: approval.commandId,
    action: approval.action,
    subject: approval.subject,
    parsed: canonicalJson(approval.parsed),
    reasons: canonicalJson(approval.reasons),
    status: approval.status,
    created_at: approval.createdAt,
    expires_at: approval.expiresAt,
    decided_at: approval.decidedAt,
    decided_by: approval.decidedBy,
    decision_reason: approval.decisionReason,
    remember: flag(approval.remember),
    grants: canonicalJson(
      approval.grants.map((grant) => ({ scope: grant.scope, covers: [...grant.covers] })),
    ),
    scope: approval.scope,
  };
}

/**
 * An approval as a decision leaves it. Callers decide only a pending approval, inside the transaction
 * that read it, so the first decider (on any node) wins and later ones see its result.
 */
export function decidedApproval(
  current: ApprovalRecord,
  decision: Parameters<Store['decideApproval']>[1],
  decidedAt: string,
): ApprovalRecord {
  return {
    ...current,
    status: decision.status,
    decidedAt,
    decidedBy: decision.decidedBy,
    decisionReason: decision.reason,
    remember: decision.remember,
    scope: decision.scope,
  };
}

export function approvalFromRow(row: Row): ApprovalRecord {
  const read = columns(row, 'approvals');
  return {
    id: read.text('id'),
    sessionId: read.text('session_id'),
    commandId: read.textOrNull('command_id'),
    action: read.text('action') as ApprovalRecord['action'],
    subject: read.text('subject'),
    parsed: read.stringArray('parsed'),
    reasons: read.stringArray('reasons'),
    status: read.text('status') as ApprovalStatus,
    createdAt: read.text('created_at'),
    expiresAt: read.text('expires_at'),
    decidedAt: read.textOrNull('decided_at'),
    decidedBy: read.textOrNull('decided_by'),
    decisionReason: read.textOrNull('decision_reason'),
    remember: read.flag('remember'),
    grants: read.grants('grants'),
    scope: read.textOrNull('scope') as GrantScope | null,
  };
}

export function outputParams(output: OutputRecord): Params {
  return {
    id: output.id,
    session_id: output.sessionId,
    command_id: output.commandId,
    stdout: output.stdout,
    stderr: output.stderr,
    stdout_total_bytes: output.stdoutTotalBytes,
    stderr_total_bytes: output.stderrTotalBytes,
    created_at: output.createdAt,
  };
}

export function outputFromRow(row: Row): OutputRecord {
  const read = columns(row, 'outputs');
  return {
    id: read.text('id'),
    sessionId: read.text('session_id'),
    commandId: read.text('command_id'),
    stdout: read.text('stdout'),
    stderr: read.text('stderr'),
    stdoutTotalBytes: read.number('stdout_total_bytes'),
    stderrTotalBytes: read.number('stderr_total_bytes'),
    createdAt: read.text('created_at'),
  };
}

/** SQL for an upsert of every column but `id`, from the parameter names of a record. */
export function upsertSql(table: string, params: Params): string {
  const names = Object.keys(params);
  const updates = names.filter((name) => name !== 'id').map((name) => `${name} = excluded.${name}`);
  return (
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((name) => `:${name}`).join(', ')}) ` +
    `ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`
  );
}

function flag(value: boolean): number {
  // Anything but a real boolean is refused here: STRICT would store 2 or 'yes' as given otherwise.
  if (typeof value !== 'boolean') {
    throw new AirlockError('INTERNAL', `store: expected a boolean, got ${typeof value}`);
  }
  return value ? 1 : 0;
}

export interface ColumnReader {
  text(name: string): string;
  textOrNull(name: string): string | null;
  number(name: string): number;
  numberOrNull(name: string): number | null;
  flag(name: string): boolean;
  stringArray(name: string): string[];
  jsonObject(name: string): JsonObject;
  grants(name: string): ApprovalGrant[];
}

export function columns(row: Row, table: string): ColumnReader {
  const unreadable = (name: string, expected: string): AirlockError =>
    new AirlockError(
      'STORE_UNAVAILABLE',
      `store: ${table}.${name} of ${String(row['id'] ?? row['seq'])} is not ${expected}: the file was changed outside Airlock`,
      { table, column: name },
    );
  const json = (name: string): unknown => {
    const value = row[name];
    if (typeof value !== 'string') throw unreadable(name, 'JSON text');
    try {
      return JSON.parse(value);
    } catch {
      throw unreadable(name, 'JSON text');
    }
  };
  const reader: ColumnReader = {
    text(name) {
      const value = row[name];
      if (typeof value !== 'string') throw unreadable(name, 'text');
      return value;
    },
    textOrNull(name) {
      return row[name] === null ? null : reader.text(name);
    },
    number(name) {
      const value = row[name];
      if (typeof value !== 'number') throw unreadable(name, 'a number');
      return value;
    },
    numberOrNull(name) {
      return row[name] === null ? null : reader.number(name);
    },
    flag(name) {
      const value = row[name];
      if (value !== 0 && value !== 1) throw unreadable(name, '0 or 1');
      return value === 1;
    },
    stringArray(name) {
      const value = json(name);
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
        throw unreadable(name, 'a JSON array of strings');
      }
      return value as string[];
    },
    jsonObject(name) {
      const value = json(name);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw unreadable(name, 'a JSON object');
      }
      return value as JsonObject;
    },
    grants(name) {
      const value = json(name);
      const isGrant = (item: unknown): item is ApprovalGrant =>
        typeof item === 'object' &&
        item !== null &&
        grantScopes.includes((item as { scope?: unknown }).scope as GrantScope) &&
        Array.isArray((item as { covers?: unknown }).covers) &&
        (item as { covers: unknown[] }).covers.every((cover) => typeof cover === 'string');
      if (!Array.isArray(value) || !value.every(isGrant)) {
        throw unreadable(name, 'a JSON array of { scope, covers }');
      }
      return value;
    },
  };
  return reader;
}
