/**
 * MCP over streamable HTTP, for the server's `/mcp` route (POST, GET and DELETE), called after the
 * request was authenticated. Each MCP session (the `Mcp-Session-Id` an `initialize` hands out) has its
 * own transport, MCP server and Airlock session: a new one for an admin, made on its first tool call
 * and ended with the MCP session; for a session token, that token's session, which MCP never ends.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError, httpStatusFor, isAirlockError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { HttpMcpSession, ownerOf } from './http-session.ts';
import type { McpPrincipal } from './http-session.ts';
import { progressIntervalOption } from './server.ts';

export interface McpHttpEndpointOptions {
  readonly airlock: Airlock;
  /** MCP sessions open at once; one more `initialize` is refused with LIMIT_REACHED. Default 100. */
  readonly maxSessions?: number;
  /**
   * MCP sessions that may be open together on one Airlock session (through any of its tokens), so one
   * agent cannot use up `maxSessions` for everyone; minting more tokens does not raise it. Admins are
   * trusted and bound only by `maxSessions`. Default 8.
   */
  readonly maxSessionsPerAirlockSession?: number;
  /** An MCP session that has not made its Airlock session yet is closed after this long unused. Default: sandbox.idleTimeout. */
  readonly idleTimeoutMs?: number;
  /**
   * How long an MCP session whose client has gone stays open: a client that opened an event stream
   * (GET /mcp) is gone once it has no stream and no call open for this long; its MCP session is then
   * closed, which ends the Airlock session it made. Long enough for a client's own stream reconnect.
   * Default 30 s.
   */
  readonly disconnectGraceMs?: number;
  /** How often MCP sessions whose Airlock session ended (idle, lifetime), whose client is gone, or that sat unused are closed. Default 10 s. */
  readonly sweepIntervalMs?: number;
  /** Progress notification interval while a call waits for a person. Default 2 s. */
  readonly progressIntervalMs?: number;
  readonly logger?: Pick<Logger, 'error'>;
  readonly now?: () => number;
}

export interface McpHttpEndpoint {
  /**
   * Serves one request to `/mcp`. `parsedBody` is the JSON body of a POST (undefined for GET and
   * DELETE). Writes the whole response itself (an SSE stream for calls that report progress), so the
   * caller must hand the raw response over (Fastify: `reply.hijack()`). Errors outside MCP's own are
   * `{ error: { code, message } }` with the code's HTTP status.
   */
  handle(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody: unknown,
    principal: McpPrincipal,
  ): Promise<void>;
  /** MCP sessions open now. */
  sessionCount(): number;
  /** Closes every MCP session (ending the Airlock sessions they made) and refuses new requests. */
  close(): Promise<void>;
}

function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(httpStatusFor(code), { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code, message } }));
}

function refuseStopping(res: ServerResponse): void {
  sendError(res, 'SERVER_STOPPING', 'the control plane is shutting down; retry once it is back');
}

function positive(field: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new AirlockError('INVALID_ARGUMENT', `${field} must be a whole number of at least 1`, {
      field,
      value,
    });
  }
  return value;
}

function isInitialize(body: unknown): boolean {
  return Array.isArray(body)
    ? body.some((message) => isInitializeRequest(message))
    : isInitializeRequest(body);
}

export function createMcpHttpEndpoint(options: McpHttpEndpointOptions): McpHttpEndpoint {
  return new Endpoint(options);
}

class Endpoint implements McpHttpEndpoint {
  readonly #airlock: Airlock;
  readonly #logger: Pick<Logger, 'error'> | undefined;
  readonly #now: () => number;
  readonly #maxSessions: number;
  readonly #maxPerAirlockSession: number;
  readonly #idleTimeoutMs: number;
  readonly #disconnectGraceMs: number;
  readonly #progressIntervalMs: number;
  readonly #sessions = new Map<string, HttpMcpSession>();
  /** Sessions between `initialize` arriving and their id being known; they count toward the limits. */
  readonly #opening = new Set<HttpMcpSession>();
  readonly #sweepTimer: ReturnType<typeof setInterval>;
  #closed = false;
  #sweeping: Promise<void> | null = null;

  constructor(options: McpHttpEndpointOptions) {
    this.#airlock = options.airlock;
    this.#logger = options.logger;
    this.#now = options.now ?? Date.now;
    this.#maxSessions = positive('maxSessions', options.maxSessions ?? 100);
    this.#maxPerAirlockSession = positive(
      'maxSessionsPerAirlockSession',
      options.maxSessionsPerAirlockSession ?? 8,
    );
    this.#idleTimeoutMs = positive(
      'idleTimeoutMs',
      options.idleTimeoutMs ?? options.airlock.config.sandbox.idleTimeoutMs,
    );
    this.#disconnectGraceMs = positive('disconnectGraceMs', options.disconnectGraceMs ?? 30_000);
    // Checked here, not at each initialize: by then the response is the transport's, and a throw there
    // would leave the request hanging.
    this.#progressIntervalMs = progressIntervalOption(options.progressIntervalMs);
    const sweepIntervalMs = positive('sweepIntervalMs', options.sweepIntervalMs ?? 10_000);
    this.#sweepTimer = setInterval(() => void this.#sweep(), sweepIntervalMs);
    this.#sweepTimer.unref();
  }

  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody: unknown,
    principal: McpPrincipal,
  ): Promise<void> {
    if (this.#closed) {
      refuseStopping(res);
      return;
    }
    const header = req.headers['mcp-session-id'];
    if (header !== undefined) {
      const session = typeof header === 'string' ? this.#sessions.get(header) : undefined;
      // Another principal's MCP session is as unknown as one that never existed.
      if (session === undefined || session.owner !== ownerOf(principal)) {
        sendError(res, 'NOT_FOUND', 'no such MCP session; start a new one with an initialize request');
        return;
      }
      await session.serve(req, res, parsedBody);
      return;
    }
    if (req.method !== 'POST' || !isInitialize(parsedBody)) {
      sendError(
        res,
        'INVALID_ARGUMENT',
        'MCP requests carry the Mcp-Session-Id header that initialize returned; start with an initialize request',
      );
      return;
    }
    await this.#initialize(req, res, parsedBody, principal);
  }

  sessionCount(): number {
    return this.#sessions.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    await this.#sweeping;
    const all: Array<[string | null, HttpMcpSession]> = [
      ...this.#sessions,
      ...[...this.#opening].map((session) => [null, session] as [null, HttpMcpSession]),
    ];
    await Promise.all(all.map(([id, session]) => this.#closeSession(id, session)));
  }

  async #initialize(
    req: IncomingMessage,
    res: ServerResponse,
    parsedBody: unknown,
    principal: McpPrincipal,
  ): Promise<void> {
    if (principal.kind === 'session' && (await this.#sessionOver(principal.sessionId))) {
      sendError(res, 'SESSION_ENDED', `session ${principal.sessionId} has ended; create a new one`);
      return;
    }
    const owner = ownerOf(principal);
    if (this.#overLimit(owner) !== null) await this.#sweep();
    // close() may have run during the awaits above; a session opened after it took its list would
    // never be closed.
    if (this.#closed) {
      refuseStopping(res);
      return;
    }
    // Checked and counted with no await in between, so concurrent initializes cannot overshoot.
    const limited = this.#overLimit(owner);
    if (limited !== null) {
      sendError(res, 'LIMIT_REACHED', limited);
      return;
    }
    const session = this.#open(principal);
    try {
      await session.mcp.server.connect(session.transport);
      // Closed while connecting: the transport is gone and would answer "session not found".
      if (this.#closed) {
        refuseStopping(res);
        return;
      }
      await session.serve(req, res, parsedBody);
    } finally {
      // An initialize the transport refused (a second one in a batch, a bad version) or that failed
      // opened nothing anyone can reach; one that finished while close() ran is not in its list.
      const id = session.transport.sessionId ?? null;
      if (id === null || this.#closed) await this.#closeSession(id, session);
    }
  }

  /** A new MCP session, counted (in `opening`) from the moment it is made. */
  #open(principal: McpPrincipal): HttpMcpSession {
    const session = new HttpMcpSession({
      airlock: this.#airlock,
      principal,
      progressIntervalMs: this.#progressIntervalMs,
      logger: this.#logger,
      now: this.#now,
      onInitialized: (opened, id) => {
        this.#opening.delete(opened);
        // After close() took its list, nobody else would close it: `#initialize` does, once served.
        if (!this.#closed) this.#sessions.set(id, opened);
      },
      onClosed: (closed) => {
        const id = closed.transport.sessionId;
        if (id !== undefined && this.#sessions.get(id) === closed) this.#sessions.delete(id);
        this.#opening.delete(closed);
      },
    });
    this.#opening.add(session);
    return session;
  }

  async #closeSession(id: string | null, session: HttpMcpSession): Promise<void> {
    if (id !== null) this.#sessions.delete(id);
    this.#opening.delete(session);
    await session.close(this.#logger);
  }

  /** Why one more MCP session for `owner` would be too many, or null. */
  #overLimit(owner: string): string | null {
    const open = [...this.#sessions.values(), ...this.#opening];
    if (open.length >= this.#maxSessions) {
      return `${this.#maxSessions} MCP sessions are open; close one (DELETE /mcp) or try later`;
    }
    const own = open.filter((session) => session.owner === owner).length;
    return owner !== 'admin' && own >= this.#maxPerAirlockSession
      ? `this session has ${this.#maxPerAirlockSession} MCP sessions open; close one (DELETE /mcp) before starting another`
      : null;
  }

  /** True when the session is over, or unknown; a store that cannot answer now is asked again later. */
  async #sessionOver(sessionId: string): Promise<boolean> {
    try {
      return (await this.#airlock.sessions.info(sessionId)).state !== 'active';
    } catch (error) {
      return isAirlockError(error) && error.code === 'NOT_FOUND';
    }
  }

  /** Closes MCP sessions whose client is gone, whose Airlock session ended, or that were never used. */
  #sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce()
      .catch((error: unknown) => this.#logger?.error({ err: error }, 'could not sweep MCP sessions'))
      .finally(() => {
        this.#sweeping = null;
      });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<void> {
    for (const [id, session] of [...this.#sessions]) {
      const sessionId = session.provider.currentId();
      // A call in flight in an ended session finishes on its own (with SESSION_ENDED); closing the
      // transport ends it and any open event stream with it.
      const over =
        session.clientGone(this.#disconnectGraceMs) ||
        (sessionId === null ? session.idle(this.#idleTimeoutMs) : await this.#sessionOver(sessionId));
      if (over && this.#sessions.get(id) === session) await this.#closeSession(id, session);
    }
  }
}

/*
 * Security limitations:
 * - `handle` trusts the principal it is given: authentication, and Host/Origin checks against DNS
 *   rebinding, are the HTTP server's job before it calls in.
 * - An MCP session id is checked against the principal that opened it, so a leaked id alone opens
 *   nothing; but every admin token is one principal here, so admins share each other's MCP sessions.
 * - Admins are bound only by `maxSessions`; a session's tokens together by `maxSessionsPerAirlockSession` as well.
 */
