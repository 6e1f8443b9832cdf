/**
 * Egress for the people watching sessions: each open session's list, what the proxy counted, the hosts
 * a person granted, the questions waiting and the hosts refused; and a person's own grants of a host
 * for the rest of a session (as approving an ask with `remember` does), or their withdrawal, each an
 * audit event naming who did it.
 */
import { AirlockError } from '../errors/index.ts';
import type { EgressSession, EgressSessionSummary } from '../egress/index.ts';
import type { SessionNetwork } from '../sessions/index.ts';
import type { Store } from '../store/index.ts';

export interface EgressTarget {
  readonly host: string;
  readonly port: number;
}

/** One session's egress: its network (as SessionInfo says it) and the proxy's counts since it started. */
export interface EgressOverview extends EgressSessionSummary {
  readonly mode: SessionNetwork['mode'];
  readonly allow: readonly string[];
}

export interface EgressGrants {
  /** Every open session with a network, now. */
  overview(): EgressOverview[];
  /**
   * Allows `host:port` for the rest of a live session; recorded as `egress.granted`. NOT_FOUND for a
   * session that is not live here or has no network, INVALID_ARGUMENT for a malformed host or port.
   */
  grant(sessionId: string, target: EgressTarget, decidedBy: string): Promise<EgressOverview>;
  /** Withdraws a grant (connections already open keep going); recorded as `egress.grant_revoked`. */
  revokeGrant(sessionId: string, target: EgressTarget, decidedBy: string): Promise<EgressOverview>;
}

/** `airlock.egress`: the people's side above, and a restart of the proxy. */
export interface AirlockEgress {
  /**
   * Replaces the proxy with a fresh one that serves every open session again: the same sockets
   * (sandboxes keep their way out), placeholders and CA. Connections open at that moment are cut,
   * and hosts a person granted for a session must be granted again.
   */
  restart(): Promise<void>;
  /** Each live session with a network: its list, counts since the proxy started, grants, refused hosts. */
  sessions(): EgressOverview[];
  /** See `EgressGrants.grant`; `decidedBy` is recorded (`api:approver:tok_…`). */
  grant(
    sessionId: string,
    target: EgressTarget,
    options: { readonly decidedBy: string },
  ): Promise<EgressOverview>;
  revokeGrant(
    sessionId: string,
    target: EgressTarget,
    options: { readonly decidedBy: string },
  ): Promise<EgressOverview>;
}

/** What the control plane keeps for an open session that this needs. */
export interface OpenNetwork {
  readonly network: SessionNetwork;
  /** The session's redactor: host names come from commands in the sandbox, and may carry a secret. */
  readonly redact: (text: string) => string;
}

export interface EgressGrantsParts {
  readonly open: ReadonlyMap<string, OpenNetwork>;
  readonly session: (sessionId: string) => EgressSession | undefined;
  readonly store: Store;
  /** Told after a session's grants changed, so the policy follows the proxy. */
  readonly changed: (sessionId: string) => void;
}

export function createEgressGrants(parts: EgressGrantsParts): EgressGrants {
  function live(sessionId: string): { state: OpenNetwork; handle: EgressSession } {
    const state = parts.open.get(sessionId);
    const handle = parts.session(sessionId);
    if (state === undefined || handle === undefined) {
      throw new AirlockError(
        'NOT_FOUND',
        `session ${sessionId} is not a live session with a network on this control plane`,
        { sessionId },
      );
    }
    return { state, handle };
  }

  async function record(
    type: 'egress.granted' | 'egress.grant_revoked',
    sessionId: string,
    target: EgressTarget,
    decidedBy: string,
  ): Promise<void> {
    await parts.store.commit({
      events: [{ type, sessionId, commandId: null, data: { ...target, decidedBy } }],
    });
  }

  return {
    overview() {
      return [...parts.open].flatMap(([sessionId, state]) => {
        const summary = parts.session(sessionId)?.summary();
        return summary === undefined ? [] : [overviewOf(state, summary)];
      });
    },
    async grant(sessionId, target, decidedBy) {
      const { state, handle } = live(sessionId);
      const host = handle.grant(target.host, target.port);
      parts.changed(sessionId);
      await record('egress.granted', sessionId, { host, port: target.port }, decidedBy);
      return overviewOf(state, handle.summary());
    },
    async revokeGrant(sessionId, target, decidedBy) {
      const { state, handle } = live(sessionId);
      if (handle.revokeGrant(target.host, target.port)) {
        parts.changed(sessionId);
        await record('egress.grant_revoked', sessionId, target, decidedBy);
      }
      return overviewOf(state, handle.summary());
    },
  };
}

function overviewOf(state: OpenNetwork, summary: EgressSessionSummary): EgressOverview {
  const { redact } = state;
  return {
    ...summary,
    mode: state.network.mode,
    allow: state.network.allow,
    granted: summary.granted.map(redact),
    pendingAsks: summary.pendingAsks.map(redact),
    refused: summary.refused.map((entry) => ({
      ...entry,
      host: redact(entry.host),
      message: redact(entry.message),
    })),
  };
}
