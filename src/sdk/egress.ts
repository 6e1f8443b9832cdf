/**
 * `client.egress`: what live sessions reach through the egress proxy (admin, viewers, approvers), and
 * a person's grant of a host for the rest of a session (admin, approvers).
 */
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';

/** Why the proxy refused a host (see the egress proxy's refusal codes). */
export type EgressRefusalCode =
  | 'network_off'
  | 'not_allowed'
  | 'ask_denied'
  | 'ask_timed_out'
  | 'address_forbidden'
  | 'resolve_failed'
  | 'sni_mismatch'
  | 'host_mismatch'
  | 'placeholder_wrong_host'
  | 'placeholder_unrewritable'
  | 'bad_request'
  | 'connection_limit'
  | 'session_closed';

/** One live session's egress: its list, counts since the proxy started, grants, pending asks, refusals. */
export interface SessionEgress {
  readonly sessionId: string;
  readonly mode: 'none' | 'allowlist' | 'ask';
  readonly allow: readonly string[];
  readonly openConnections: number;
  readonly connections: { readonly allowed: number; readonly refused: number };
  readonly bytesUp: number;
  readonly bytesDown: number;
  readonly lastConnectionAt: string | null;
  /** `host:port` a person allowed for the rest of the session. */
  readonly granted: readonly string[];
  /** `host:port` waiting for a person now. */
  readonly pendingAsks: readonly string[];
  readonly refused: readonly {
    readonly host: string;
    readonly port: number;
    readonly reason: EgressRefusalCode;
    readonly message: string;
    readonly count: number;
  }[];
}

export interface EgressTarget {
  /** A host name or an IP address. */
  readonly host: string;
  readonly port: number;
}

export class Egress {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  async list(options: CallOptions & { readonly sessionId?: string } = {}): Promise<SessionEgress[]> {
    const answer = await this.#transport.json<{ sessions: SessionEgress[] }>(
      { method: 'GET', path: ['v1', 'egress'], query: { sessionId: options.sessionId } },
      options,
    );
    return answer.sessions;
  }

  /** Allows `host:port` for the rest of a live session, as approving its ask with remember would. */
  grant(sessionId: string, target: EgressTarget, options?: CallOptions): Promise<SessionEgress> {
    return this.#transport.json<SessionEgress>(
      {
        method: 'POST',
        path: ['v1', 'sessions', sessionId, 'egress', 'grants'],
        json: { host: target.host, port: target.port },
      },
      options,
    );
  }

  /** Withdraws a grant; connections already open keep going. */
  revokeGrant(sessionId: string, target: EgressTarget, options?: CallOptions): Promise<SessionEgress> {
    return this.#transport.json<SessionEgress>(
      {
        method: 'DELETE',
        path: ['v1', 'sessions', sessionId, 'egress', 'grants'],
        query: { host: target.host, port: String(target.port) },
      },
      options,
    );
  }
}
