/**
 * Egress questions as approval requests: a connection to a host off a session's allow-list (in ask
 * mode) waits for a person's answer in the same queue as commands, showing the host, the port and the
 * command that made it. Approving answers for this connection; approving with `remember` answers for
 * this host and port for the rest of the session. Undecided after `router.approvalWait` (the request
 * expires then), withdrawn when the connection gives up, denied: the connection is refused. Every
 * request and decision is an audit event, like any approval.
 */
import type { EgressAnswer, EgressAsk, EgressDecider } from '../egress/index.ts';
import type { Approvals } from '../router/index.ts';

export interface EgressApprovalsOptions {
  readonly approvals: Approvals;
  readonly approvalWaitMs: number;
  /** The redacted text of a running command, for the person deciding; undefined when unknown. */
  readonly commandText: (commandId: string) => Promise<string | undefined>;
}

function target(ask: EgressAsk): string {
  // IPv6 literals in brackets, so the port stays readable.
  return ask.host.includes(':') ? `[${ask.host}]:${ask.port}` : `${ask.host}:${ask.port}`;
}

function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

export function createEgressDecider(options: EgressApprovalsOptions): EgressDecider {
  return async (ask: EgressAsk, signal: AbortSignal): Promise<EgressAnswer> => {
    const command = ask.commandId === undefined ? undefined : await options.commandText(ask.commandId);
    const how =
      ask.protocol === 'http'
        ? 'an HTTP request'
        : ask.protocol === 'socks'
          ? 'a SOCKS connection'
          : 'a tunnel';
    const approval = await options.approvals.request({
      sessionId: ask.sessionId,
      commandId: ask.commandId ?? null,
      action: 'egress',
      subject: target(ask),
      parsed: command === undefined ? [] : [command],
      reasons: [
        `${command === undefined ? 'a command of this session' : 'this command'} opens ${how} to ${ask.host} port ${ask.port}, which is not on the session's allow-list`,
        'approve once for this connection, or with remember for this host and port for the rest of the session',
      ],
      // "For the rest of the session" covers this host and port, nothing wider.
      grants: [{ scope: 'host', covers: [target(ask)] }],
      timeoutMs: options.approvalWaitMs,
    });
    const decided = await options.approvals.waitOrWithdraw(
      approval.id,
      signal,
      'the connection stopped waiting for an answer',
    );
    if (decided === null || decided.status === 'expired') {
      // The request's own deadline is router.approvalWait too, set a moment after the connection's; a
      // busy event loop can still see it pass first. Answering now would refuse the connection as
      // denied by a person, which nobody did: it is refused when its own deadline passes, as a timeout.
      await untilAborted(signal);
      return 'deny';
    }
    if (decided.status !== 'approved') return 'deny';
    return decided.scope === 'host' ? 'allow-session' : 'allow-once';
  };
}
