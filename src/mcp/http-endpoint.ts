/**
 * MCP over streamable HTTP, for the server's `/mcp` route (POST, GET and DELETE), called after the
 * request was authenticated. Each MCP session (the `Mcp-Session-Id` an `initialize` hands out) has its
 * own transport, MCP server and Airlock session: a new one for an admin, made on its first tool call
 * and ended with the MCP session; for a session token, that token's session, which MCP never ends.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Logger } from 'pino';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError, httpStatusFor, isAirlockError } from '../errors/index.ts';
import type { ErrorCode } from '../errors/index.ts';
import { createAirlockMcpServer, progressIntervalOption } from './server.ts';
import type { AirlockMcpServer } from './server.ts';
import { boundSession, lazySession } from './session-provider.ts';
import type { SessionProvider } from './session-provider.ts';

/** Who the server authenticated: an admin token, or a session token bound to one session. */
export type McpPrincipal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'session'; readonly sessionId: string };

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

interface Entry {
  readonly owner: string;
  readonly provider: SessionProvider;
  readonly mcp: AirlockMcpServer;
  readonly transport: StreamableHTTPServerTransport;
  /** When a request or stream last started or ended. */
  lastSeenMs: number;
  /** Calls (POST, DELETE) in flight; an MCP session in use is never closed as unused. */
  active: number;
  /** Event streams (GET) open now. */
  streams: number;
  /** Whether the client ever opened an event stream: only then does having none mean it is gone. */
  streamed: boolean;
}

const ownerOf = (principal: McpPrincipal): string =>
  principal.kind === 'admin' ? 'admin' : `session:${principal.sessionId}`;

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
  const { airlock, logger } = options;
  const now = options.now ?? Date.now;
  const maxSessions = positive('maxSessions', options.maxSessions ?? 100);
  const maxPerAirlockSession = positive(
    'maxSessionsPerAirlockSession',
    options.maxSessionsPerAirlockSession ?? 8,
  );
  const idleTimeoutMs = positive(
    'idleTimeoutMs',
    options.idleTimeoutMs ?? airlock.config.sandbox.idleTimeoutMs,
  );
  const sweepIntervalMs = positive('sweepIntervalMs', options.sweepIntervalMs ?? 10_000);
  const disconnectGraceMs = positive('disconnectGraceMs', options.disconnectGraceMs ?? 30_000);
  // Checked here, not at each initialize: by then the response is the transport's, and a throw there
  // would leave the request hanging.
  const progressIntervalMs = progressIntervalOption(options.progressIntervalMs);
  const entries = new Map<string, Entry>();
  /** Entries between `initialize` arriving and its session id being known; they count toward the limits. */
  const opening = new Set<Entry>();
  let closed = false;
  let sweeping: Promise<void> | null = null;

  const countOf = (owner: string): number =>
    [...entries.values(), ...opening].filter((entry) => entry.owner === owner).length;

  async function closeEntry(id: string | null, entry: Entry): Promise<void> {
    if (id !== null) entries.delete(id);
    opening.delete(entry);
    // Closing the transport closes the MCP server, which ends the session its provider made.
    await entry.mcp
      .close()
      .catch((error: unknown) => logger?.error({ err: error }, 'could not close an MCP session'));
  }

  /** True when the session is over, or unknown; a store that cannot answer now is asked again later. */
  async function sessionOver(sessionId: string): Promise<boolean> {
    try {
      return (await airlock.sessions.info(sessionId)).state !== 'active';
    } catch (error) {
      return isAirlockError(error) && error.code === 'NOT_FOUND';
    }
  }

  /**
   * Whether the client is gone. Streamable HTTP may leave nothing open between calls, so silence alone
   * says nothing; but a client that keeps an event stream open (the official SDKs do, from the start)
   * drops it only when it goes away or reconnects. No stream and no call for `disconnectGraceMs`
   * after having had one means gone. A client that never opens a stream is ended by its idle timeouts.
   */
  const clientGone = (entry: Entry): boolean =>
    entry.streamed &&
    entry.streams === 0 &&
    entry.active === 0 &&
    now() - entry.lastSeenMs >= disconnectGraceMs;

  async function sweepOnce(): Promise<void> {
    for (const [id, entry] of [...entries]) {
      const sessionId = entry.provider.currentId();
      // A call in flight in an ended session finishes on its own (with SESSION_ENDED); closing the
      // transport ends it and any open event stream with it.
      const over =
        clientGone(entry) ||
        (sessionId === null
          ? entry.active === 0 && now() - entry.lastSeenMs >= idleTimeoutMs
          : await sessionOver(sessionId));
      if (over && entries.get(id) === entry) await closeEntry(id, entry);
    }
  }

  const sweep = (): Promise<void> => {
    sweeping ??= sweepOnce()
      .catch((error: unknown) => logger?.error({ err: error }, 'could not sweep MCP sessions'))
      .finally(() => {
        sweeping = null;
      });
    return sweeping;
  };
  const sweepTimer = setInterval(() => void sweep(), sweepIntervalMs);
  sweepTimer.unref();

  /** Why one more MCP session for `owner` would be too many, or null. */
  const overLimit = (owner: string): string | null =>
    entries.size + opening.size >= maxSessions
      ? `${maxSessions} MCP sessions are open; close one (DELETE /mcp) or try later`
      : owner !== 'admin' && countOf(owner) >= maxPerAirlockSession
        ? `this session has ${maxPerAirlockSession} MCP sessions open; close one (DELETE /mcp) before starting another`
        : null;

  /** A new MCP session, counted (in `opening`) from the moment it is made. */
  function open(principal: McpPrincipal): Entry {
    const provider =
      principal.kind === 'admin' ? lazySession(airlock) : boundSession(airlock, principal.sessionId);
    const mcp = createAirlockMcpServer({
      airlock,
      session: provider,
      progressIntervalMs,
      ...(logger === undefined ? {} : { logger }),
      now,
    });
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        opening.delete(entry);
        // After close() took its list, nobody else would close it: `handle` does, once served.
        if (!closed) entries.set(id, entry);
      },
      // DELETE /mcp answers once the session is gone, so a client that deleted it can rely on that.
      onsessionclosed: () => provider.close(),
    });
    const entry: Entry = {
      owner: ownerOf(principal),
      provider,
      mcp,
      transport,
      lastSeenMs: now(),
      active: 0,
      streams: 0,
      streamed: false,
    };
    // Set before connecting: the MCP server keeps this handler and calls it first when the transport
    // closes, whether by DELETE, by the sweep or by close().
    transport.onclose = () => {
      const id = transport.sessionId;
      if (id !== undefined && entries.get(id) === entry) entries.delete(id);
      opening.delete(entry);
    };
    opening.add(entry);
    return entry;
  }

  async function serve(
    entry: Entry,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
  ): Promise<void> {
    // A GET is the client's event stream, open for as long as it likes: it is presence, not use.
    // Both count until the response is over (an answer streamed as events outlives handleRequest).
    const isStream = req.method === 'GET';
    if (isStream) {
      entry.streams += 1;
      entry.streamed = true;
    } else {
      entry.active += 1;
    }
    entry.lastSeenMs = now();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (isStream) entry.streams -= 1;
      else entry.active -= 1;
      entry.lastSeenMs = now();
    };
    res.once('close', end);
    try {
      await entry.transport.handleRequest(req, res, body);
    } finally {
      if (res.writableEnded || res.destroyed) end();
    }
  }

  return {
    async handle(req, res, parsedBody, principal) {
      if (closed) {
        refuseStopping(res);
        return;
      }
      const header = req.headers['mcp-session-id'];
      if (header !== undefined) {
        const entry = typeof header === 'string' ? entries.get(header) : undefined;
        // Another principal's MCP session is as unknown as one that never existed.
        if (entry === undefined || entry.owner !== ownerOf(principal)) {
          sendError(res, 'NOT_FOUND', 'no such MCP session; start a new one with an initialize request');
          return;
        }
        await serve(entry, req, res, parsedBody);
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
      if (principal.kind === 'session' && (await sessionOver(principal.sessionId))) {
        sendError(res, 'SESSION_ENDED', `session ${principal.sessionId} has ended; create a new one`);
        return;
      }
      const owner = ownerOf(principal);
      if (overLimit(owner) !== null) await sweep();
      // close() may have run during the awaits above; an entry opened after it took its list of
      // entries would never be closed.
      if (closed) {
        refuseStopping(res);
        return;
      }
      // Checked and counted with no await in between, so concurrent initializes cannot overshoot.
      const limited = overLimit(owner);
      if (limited !== null) {
        sendError(res, 'LIMIT_REACHED', limited);
        return;
      }
      const entry = open(principal);
      try {
        await entry.mcp.server.connect(entry.transport);
        // Closed while connecting: the transport is gone and would answer "session not found".
        if (closed) {
          refuseStopping(res);
          return;
        }
        await serve(entry, req, res, parsedBody);
      } finally {
        // An initialize the transport refused (a second one in a batch, a bad version) or that failed
        // opened nothing anyone can reach; one that finished while close() ran is not in its list.
        const id = entry.transport.sessionId ?? null;
        if (id === null || closed) await closeEntry(id, entry);
      }
    },
    sessionCount: () => entries.size,
    async close() {
      closed = true;
      clearInterval(sweepTimer);
      await sweeping;
      const all: Array<[string | null, Entry]> = [
        ...entries,
        ...[...opening].map((entry) => [null, entry] as [null, Entry]),
      ];
      await Promise.all(all.map(([id, entry]) => closeEntry(id, entry)));
    },
  };
}

/*
 * Security limitations:
 * - `handle` trusts the principal it is given: authentication, and Host/Origin checks against DNS
 *   rebinding, are the HTTP server's job before it calls in.
 * - An MCP session id is checked against the principal that opened it, so a leaked id alone opens
 *   nothing; but every admin token is one principal here, so admins share each other's MCP sessions.
 * - Admins are bound only by `maxSessions`; a session's tokens together by `maxSessionsPerAirlockSession` as well.
 */
