/** `client.sessions`: create, find, list and end sessions, and make handles on them. */
import { SandboxSession } from './session.ts';
import type { CallOptions } from './signals.ts';
import type { Transport } from './transport.ts';
import type {
  CreatedSession,
  CreateSessionRequest,
  NetworkRequest,
  SessionInfo,
  SessionState,
} from './wire-types.ts';

/**
 * The session's settings as the wire names them (`timeoutMs` is the default limit per command, as in
 * E2B), plus `signal` and `requestTimeoutMs` for this call.
 */
export interface CreateSessionOptions extends CreateSessionRequest {
  readonly signal?: AbortSignal;
  /** Client-side bound on the call; none by default (a Docker image may be pulled first). */
  readonly requestTimeoutMs?: number;
}

export interface ConnectOptions extends CallOptions {
  /** The session's token; without it the handle calls with the client's token. */
  readonly token?: string;
}

export interface ListSessionsOptions extends CallOptions {
  readonly state?: SessionState;
  /** The newest this many (1–1000); the server's default is 100. */
  readonly limit?: number;
}

export class Sessions {
  readonly #transport: Transport;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  /** Creates a session (admin token) and returns a handle that calls with the new session's token. */
  async create(options: CreateSessionOptions = {}): Promise<SandboxSession> {
    const { signal, requestTimeoutMs, ...body } = options;
    // The answer names the node that created the session, where its requests can then go.
    const transport = this.#transport.forSession();
    const created = await transport.json<CreatedSession>(
      { method: 'POST', path: ['v1', 'sessions'], json: body, long: true },
      {
        ...(signal === undefined ? {} : { signal }),
        ...(requestTimeoutMs === undefined ? {} : { timeoutMs: requestTimeoutMs }),
      },
    );
    return new SandboxSession(transport, { id: created.id, token: created.token });
  }

  /** A handle on an existing session, after checking that it exists and the token may see it. */
  async connect(sessionId: string, options: ConnectOptions = {}): Promise<SandboxSession> {
    const session = new SandboxSession(this.#transport, { id: sessionId, token: options.token });
    await session.info(options);
    return session;
  }

  /** Sessions the token may see (a session token sees only its own). */
  async list(options: ListSessionsOptions = {}): Promise<SessionInfo[]> {
    const answer = await this.#transport.json<{ sessions: SessionInfo[] }>(
      {
        method: 'GET',
        path: ['v1', 'sessions'],
        query: { state: options.state, limit: options.limit?.toString() },
      },
      options,
    );
    return answer.sessions;
  }

  get(sessionId: string, options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>({ method: 'GET', path: ['v1', 'sessions', sessionId] }, options);
  }

  /** Ends a session; ending an ended one is fine. */
  destroy(sessionId: string, options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>(
      { method: 'DELETE', path: ['v1', 'sessions', sessionId] },
      options,
    );
  }

  /**
   * Changes a live session's network list (admin token): `none`, or a mode, hosts and fixed
   * addresses as airlock.yaml writes them, never wider than the server's configuration. Open
   * connections keep going; the answer is the session with its network as it is now.
   */
  setNetwork(sessionId: string, network: NetworkRequest, options?: CallOptions): Promise<SessionInfo> {
    return this.#transport.json<SessionInfo>(
      { method: 'PATCH', path: ['v1', 'sessions', sessionId, 'network'], json: network },
      options,
    );
  }

  /** Mints another token scoped to the session (admin token). */
  async createToken(sessionId: string, options?: CallOptions): Promise<string> {
    const answer = await this.#transport.json<{ token: string }>(
      { method: 'POST', path: ['v1', 'sessions', sessionId, 'tokens'] },
      options,
    );
    return answer.token;
  }
}
