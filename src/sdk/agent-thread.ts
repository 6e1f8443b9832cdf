/**
 * An agent run as one thread, from the audit log: the run's own events (started, each model call, each
 * step, finished) and what happened in its session meanwhile (commands with their decisions, approvals
 * and results; egress), in the order the log has them. A command's events gather into one item at the
 * place it was proposed, so the thread reads "the model asked, the command ran, the model went on".
 */
import type { AuditEvent } from './wire-types.ts';

export interface RunHead {
  readonly runId: string;
  readonly sessionId: string;
  readonly started: AuditEvent;
  readonly finished: AuditEvent | null;
}

export type ThreadItem =
  | { readonly kind: 'agent'; readonly event: AuditEvent }
  | { readonly kind: 'command'; readonly commandId: string; readonly events: readonly AuditEvent[] }
  | { readonly kind: 'other'; readonly event: AuditEvent };

export function runIdOf(event: AuditEvent): string | null {
  const runId = event.data['runId'];
  return typeof runId === 'string' ? runId : null;
}

/** Runs newest first, from `agent.started` and `agent.finished` events (oldest first, as listed). */
export function runsOf(events: readonly AuditEvent[]): RunHead[] {
  const runs = new Map<
    string,
    { runId: string; sessionId: string; started: AuditEvent; finished: AuditEvent | null }
  >();
  for (const event of events) {
    const runId = runIdOf(event);
    if (runId === null || event.sessionId === null) continue;
    if (event.type === 'agent.started')
      runs.set(runId, { runId, sessionId: event.sessionId, started: event, finished: null });
    else if (event.type === 'agent.finished') {
      const run = runs.get(runId);
      if (run !== undefined) run.finished = event;
    }
  }
  return [...runs.values()].reverse();
}

/** Events of the session that belong to one command's card. */
const COMMAND_TYPES = new Set([
  'command.proposed',
  'command.decided',
  'command.input',
  'approval.requested',
  'approval.decided',
  'execution.started',
  'execution.finished',
  'execution.interrupted',
  'output.stored',
  'rate.limited',
]);

/**
 * `events` are the session's from the run's start on, oldest first. Another run's events in the same
 * session are left out; so is everything after this run finished.
 */
export function threadOf(runId: string, events: readonly AuditEvent[]): ThreadItem[] {
  const items: ThreadItem[] = [];
  const commands = new Map<string, AuditEvent[]>();
  for (const event of events) {
    const eventRun = runIdOf(event);
    if (event.type.startsWith('agent.')) {
      if (eventRun !== runId) continue;
      items.push({ kind: 'agent', event });
      if (event.type === 'agent.finished') break;
      continue;
    }
    if (event.commandId !== null && COMMAND_TYPES.has(event.type)) {
      const known = commands.get(event.commandId);
      if (known !== undefined) {
        known.push(event);
        continue;
      }
      const gathered = [event];
      commands.set(event.commandId, gathered);
      items.push({ kind: 'command', commandId: event.commandId, events: gathered });
      continue;
    }
    items.push({ kind: 'other', event });
  }
  return items;
}

/** What a command's card shows, read from its events. */
export interface CommandFacts {
  readonly command: string | null;
  readonly decision: string | null;
  readonly reasons: readonly string[];
  readonly approval: {
    readonly id: string;
    readonly status: string | null;
    readonly decidedBy: string | null;
  } | null;
  readonly status: string | null;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly background: boolean;
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

export function commandFacts(events: readonly AuditEvent[]): CommandFacts {
  let facts: {
    -readonly [K in keyof CommandFacts]: CommandFacts[K];
  } = {
    command: null,
    decision: null,
    reasons: [],
    approval: null,
    status: null,
    exitCode: null,
    durationMs: null,
    background: false,
  };
  for (const { type, data } of events) {
    if (type === 'command.proposed') {
      facts = { ...facts, command: text(data['command']), background: data['background'] === true };
    } else if (type === 'command.decided') {
      facts = {
        ...facts,
        decision: text(data['decision']),
        reasons: Array.isArray(data['reasons'])
          ? data['reasons'].filter((reason) => typeof reason === 'string')
          : [],
      };
    } else if (type === 'approval.requested') {
      facts = {
        ...facts,
        approval: { id: text(data['approvalId']) ?? '', status: 'pending', decidedBy: null },
      };
    } else if (type === 'approval.decided') {
      facts = {
        ...facts,
        approval: {
          id: text(data['approvalId']) ?? facts.approval?.id ?? '',
          status: text(data['status']),
          decidedBy: text(data['decidedBy']),
        },
      };
    } else if (type === 'execution.started') {
      facts = { ...facts, status: 'running' };
    } else if (type === 'execution.finished') {
      facts = {
        ...facts,
        status: text(data['status']),
        exitCode: typeof data['exitCode'] === 'number' ? data['exitCode'] : null,
        durationMs: typeof data['durationMs'] === 'number' ? data['durationMs'] : null,
      };
    } else if (type === 'execution.interrupted') {
      facts = { ...facts, status: 'interrupted' };
    } else if (type === 'rate.limited') {
      facts = { ...facts, status: 'rate_limited' };
    }
  }
  if (facts.status === null && facts.decision === 'deny') facts = { ...facts, status: 'denied' };
  return facts;
}
