/**
 * After a crash: the sessions, commands and approvals a control plane that is gone left open are
 * ended (interrupted, expired) in the store, and the sandboxes they left are swept by the caller's
 * `sweepLeftovers` (every driver's, not only the configured one's).
 */
import type { AuditEventInput, CommandRecord, SessionRecord, Store } from '../store/index.ts';
import { isOwnerAlive } from './owner.ts';
import { iso } from './session-record.ts';
import { sessionEndReasons } from './types.ts';
import type { SessionEndCode } from './types.ts';

export interface RecoveryReport {
  readonly sessionsEnded: number;
  readonly commandsInterrupted: number;
  readonly approvalsExpired: number;
  readonly sandboxesSwept: number;
}

export async function recoverOrphans(
  context: { readonly store: Store; readonly owner: string; readonly now: () => number },
  sweepLeftovers: () => Promise<number>,
): Promise<RecoveryReport> {
  const { store, owner, now } = context;
  const orphaned = (await store.listSessions({ state: 'active' })).filter(
    (record) => record.owner !== owner && !isOwnerAlive(record.owner),
  );
  const ended = await endOrphanedSessions(store, orphaned, {
    code: 'crashed',
    reason: sessionEndReasons.crashed,
    endedAt: iso(now()),
  });
  const sandboxesSwept = await sweepLeftovers();
  const report = { sessionsEnded: orphaned.length, ...ended, sandboxesSwept };
  if (orphaned.length > 0 || sandboxesSwept > 0) {
    await store.commit({
      events: [{ type: 'recovery.completed', sessionId: null, commandId: null, data: { ...report } }],
    });
  }
  return report;
}

/**
 * Ends, in the store, the active sessions of a control plane that is gone (`owner`): a cluster node
 * the others found lost, or an earlier run of this node. Its sandboxes died with it; what is ended
 * here is what the store still calls open. Returns how many sessions it ended.
 */
export async function endSessionsOwnedBy(
  store: Store,
  owner: string,
  why: { readonly code: SessionEndCode; readonly reason: string; readonly endedAt: string },
): Promise<number> {
  const records = (await store.listSessions({ state: 'active' })).filter((record) => record.owner === owner);
  await endOrphanedSessions(store, records, why);
  return records.length;
}

/** Each session ended with its open commands interrupted and pending approvals expired, one commit each. */
async function endOrphanedSessions(
  store: Store,
  records: readonly SessionRecord[],
  why: { readonly code: SessionEndCode; readonly reason: string; readonly endedAt: string },
): Promise<{ commandsInterrupted: number; approvalsExpired: number }> {
  const { reason, endedAt } = why;
  let commandsInterrupted = 0;
  let approvalsExpired = 0;
  for (const record of records) {
    const open = await store.listCommands({
      sessionId: record.id,
      states: ['proposed', 'pending_approval', 'running'],
    });
    const commands: CommandRecord[] = open.map((command) => ({
      ...command,
      state: 'interrupted',
      finishedAt: endedAt,
    }));
    const pendingApprovals = await store.listApprovals({ sessionId: record.id, status: 'pending' });
    await store.commit({
      sessions: [{ ...record, state: 'ended', endedAt, endReason: reason }],
      commands,
      approvals: pendingApprovals.map((approval) => ({
        ...approval,
        status: 'expired',
        decidedAt: endedAt,
        decidedBy: 'airlock',
        decisionReason: reason,
      })),
      events: [
        ...open.map(
          (command): AuditEventInput => ({
            type: 'execution.interrupted',
            sessionId: record.id,
            commandId: command.id,
            data: { previousState: command.state, reason },
          }),
        ),
        ...pendingApprovals.map(
          (approval): AuditEventInput => ({
            type: 'approval.decided',
            sessionId: record.id,
            commandId: approval.commandId,
            data: { approvalId: approval.id, status: 'expired', decidedBy: 'airlock', reason },
          }),
        ),
        {
          type: 'session.destroyed',
          sessionId: record.id,
          commandId: null,
          data: { reason: why.code, ...(why.code === 'crashed' ? {} : { detail: reason }) },
        },
      ],
    });
    commandsInterrupted += open.length;
    approvalsExpired += pendingApprovals.length;
  }
  return { commandsInterrupted, approvalsExpired };
}
