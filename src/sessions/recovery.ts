/**
 * After a crash: the sessions, commands and approvals a control plane that is gone left open are
 * ended (interrupted, expired) in the store, and the sandboxes they left are swept by the caller's
 * `sweepLeftovers` (every driver's, not only the configured one's).
 */
import type { AuditEventInput, CommandRecord, Store } from '../store/index.ts';
import { isOwnerAlive } from './owner.ts';
import { iso } from './session-record.ts';
import { sessionEndReasons } from './types.ts';

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
  let commandsInterrupted = 0;
  let approvalsExpired = 0;
  const endedAt = iso(now());
  for (const record of orphaned) {
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
    const reason = sessionEndReasons.crashed;
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
        { type: 'session.destroyed', sessionId: record.id, commandId: null, data: { reason: 'crashed' } },
      ],
    });
    commandsInterrupted += open.length;
    approvalsExpired += pendingApprovals.length;
  }
  const sandboxesSwept = await sweepLeftovers();
  const report = {
    sessionsEnded: orphaned.length,
    commandsInterrupted,
    approvalsExpired,
    sandboxesSwept,
  };
  if (orphaned.length > 0 || sandboxesSwept > 0) {
    await store.commit({
      events: [{ type: 'recovery.completed', sessionId: null, commandId: null, data: { ...report } }],
    });
  }
  return report;
}
