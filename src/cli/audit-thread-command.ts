/**
 * `airlock audit runs` and `airlock audit thread RUN`: an agent run (`airlock agent run`,
 * `airlock.agents.run`) read back from the audit log as one thread — each model call, each step's tool
 * calls, each command with its decision, the person asked and how it ended — the same thread the
 * dashboard's Agents view shows, for a terminal.
 */
import type { Command } from 'commander';
import { commandFacts, runsOf, threadOf } from '../sdk/index.ts';
import type { RunHead, ThreadItem } from '../sdk/index.ts';
import type { AuditEvent } from '../store/index.ts';
import { shown } from './approvals-view.ts';
import type { CliContext } from './context.ts';
import { controlPlaneOptions, withControlPlane } from './store-access.ts';
import type { AccessFlags, ControlPlaneAccess } from './store-access.ts';
import { textTable } from './text-table.ts';

/** Run start and end events read to list runs: the newest this many. */
const RUN_EVENTS = 1000;
/** Events read per page while gathering a thread. */
const PAGE = 1000;
/** Pages read at most for one thread: memory stays bounded however long the session went on. */
const MAX_PAGES = 10;

export const auditThreadExitCodes = { ok: 0, usage: 2, notFound: 4 } as const;

export function registerAuditThreadCommands(audit: Command, context: CliContext): void {
  controlPlaneOptions(
    audit
      .command('runs')
      .description('List agent runs, newest first: run id, session, model, how each ended.'),
  )
    .addHelpText('after', '\nExit status: 0 done; 2 for a bad flag or config.\n')
    .action((flags: AccessFlags) =>
      withControlPlane(flags, context, async (access) => {
        const runs = await listRuns(access);
        context.stdout.write(runs.length === 0 ? 'no agent runs\n' : renderRuns(runs));
        return auditThreadExitCodes.ok;
      }),
    );

  controlPlaneOptions(
    audit
      .command('thread')
      .argument('<run>', 'the run id (run_…), as `airlock audit runs` lists it')
      .description(
        'Print one agent run as a thread: model calls, tool calls, commands with their decisions, approvals and results, in order.',
      ),
  )
    .addHelpText(
      'after',
      '\nExit status: 0 done; 2 for a bad flag or config; 4 when no such run is recorded.\n',
    )
    .action((runId: string, flags: AccessFlags) =>
      withControlPlane(flags, context, async (access) => {
        const run = (await listRuns(access)).find((candidate) => candidate.runId === runId);
        if (run === undefined) {
          context.stderr.write(
            `airlock: no agent run ${shown(runId)} among the newest ${RUN_EVENTS} run events; airlock audit runs lists them\n`,
          );
          return auditThreadExitCodes.notFound;
        }
        const { events, complete } = await sessionEventsFrom(access, run);
        context.stdout.write(renderThread(run, threadOf(run.runId, events), complete));
        return auditThreadExitCodes.ok;
      }),
    );
}

async function listRuns(access: ControlPlaneAccess): Promise<RunHead[]> {
  const events = await access.audit.list({
    types: ['agent.started', 'agent.finished'],
    beforeSeq: Number.MAX_SAFE_INTEGER,
    limit: RUN_EVENTS,
  });
  return runsOf(events);
}

/** The run's session from its start on, until the run finished or MAX_PAGES pages were read. */
async function sessionEventsFrom(
  access: ControlPlaneAccess,
  run: RunHead,
): Promise<{ events: AuditEvent[]; complete: boolean }> {
  const events: AuditEvent[] = [];
  let afterSeq = run.started.seq - 1;
  for (let page = 0; page < MAX_PAGES; page += 1) {
    const next = await access.audit.list({ sessionId: run.sessionId, afterSeq, limit: PAGE });
    events.push(...next);
    const last = next.at(-1);
    const finished = next.some(
      (event) => event.type === 'agent.finished' && event.data['runId'] === run.runId,
    );
    if (finished || next.length < PAGE || last === undefined) return { events, complete: true };
    afterSeq = last.seq;
  }
  return { events, complete: false };
}

function text(event: AuditEvent | { data: Readonly<Record<string, unknown>> }, key: string): string {
  const value = event.data[key];
  return typeof value === 'string' || typeof value === 'number' ? shown(String(value)) : '-';
}

export function renderRuns(runs: readonly RunHead[]): string {
  const header = ['RUN', 'SESSION', 'STARTED', 'MODEL', 'STATUS', 'STEPS', 'COMMANDS'];
  const rows = runs.map((run) => [
    shown(run.runId),
    shown(run.sessionId),
    run.started.at.slice(0, 19).replace('T', ' '),
    text(run.started, 'model'),
    run.finished === null ? 'running' : text(run.finished, 'status'),
    run.finished === null ? '-' : text(run.finished, 'steps'),
    run.finished === null ? '-' : text(run.finished, 'commands'),
  ]);
  return textTable([header, ...rows]);
}

export function renderThread(run: RunHead, items: readonly ThreadItem[], complete: boolean): string {
  const lines = [`agent run ${shown(run.runId)} in session ${shown(run.sessionId)}`];
  for (const item of items) lines.push(...itemLines(item));
  if (!complete) lines.push(`… (only the first ${MAX_PAGES * PAGE} events of the session are shown)`);
  else if (run.finished === null) lines.push('… (still running)');
  return `${lines.join('\n')}\n`;
}

function itemLines(item: ThreadItem): string[] {
  if (item.kind === 'command') {
    const facts = commandFacts(item.events);
    const outcome =
      facts.status === null
        ? 'not run'
        : `${facts.status}${facts.exitCode === null ? '' : ` (exit ${facts.exitCode})`}`;
    const lines = [
      `  $ ${shown(facts.command ?? '?')}`,
      `      ${facts.decision ?? 'undecided'}${facts.background ? ', background' : ''} → ${outcome}`,
    ];
    for (const reason of facts.reasons.slice(0, 3)) lines.push(`      why: ${shown(reason)}`);
    if (facts.approval !== null) {
      const by = facts.approval.decidedBy === null ? '' : ` by ${shown(facts.approval.decidedBy)}`;
      lines.push(
        `      asked a person (${shown(facts.approval.id)}): ${facts.approval.status ?? 'pending'}${by}`,
      );
    }
    return lines;
  }
  const { event } = item;
  const at = event.at.slice(11, 19);
  switch (event.type) {
    case 'agent.started':
      return [`${at} started: ${text(event, 'provider')} ${text(event, 'model')}`];
    case 'agent.model_call': {
      const error = event.data['error'];
      const failed =
        typeof error === 'object' && error !== null
          ? `, failed: ${text({ data: error as Record<string, unknown> }, 'message')}`
          : '';
      return [
        `${at} step ${text(event, 'step')}: model call, ${text(event, 'tokensIn')} tokens in, ` +
          `${text(event, 'tokensOut')} out, ${text(event, 'latencyMs')} ms, stop ${text(event, 'stopReason')}${failed}`,
      ];
    }
    case 'agent.step': {
      const calls = Array.isArray(event.data['calls']) ? (event.data['calls'] as unknown[]) : [];
      const names = calls.map((call) =>
        typeof call === 'object' && call !== null
          ? text({ data: call as Record<string, unknown> }, 'name')
          : '?',
      );
      return [
        `${at} step ${text(event, 'step')}: tool calls ${names.length === 0 ? 'none' : names.join(', ')}`,
      ];
    }
    case 'agent.finished':
      return [
        `${at} finished: ${text(event, 'status')}, ${text(event, 'steps')} steps, ${text(event, 'commands')} commands, ` +
          `${text(event, 'asks')} asks, ${text(event, 'tokensIn')}/${text(event, 'tokensOut')} tokens, ${text(event, 'durationMs')} ms`,
      ];
    default:
      return [
        `${at} ${shown(event.type)}${event.data['host'] === undefined ? '' : ` ${text(event, 'host')}`}`,
      ];
  }
}
