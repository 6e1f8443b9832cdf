/**
 * One MCP session over streamable HTTP: its transport and MCP server, whose it is, and whether its
 * client is still there — which, on a transport that may hold nothing open between calls, is told only
 * by the client's event stream.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Logger } from 'pino';
import type { Airlock } from '../airlock/index.ts';
import { createAirlockMcpServer } from './server.ts';
import type { AirlockMcpServer } from './server.ts';
import { boundSession, lazySession } from '../tools/index.ts';
import type { SessionProvider } from '../tools/index.ts';

/** Who the server authenticated: an admin token, or a session token bound to one session. */
export type McpPrincipal =
  | { readonly kind: 'admin' }
  | { readonly kind: 'session'; readonly sessionId: string };

export const ownerOf = (principal: McpPrincipal): string =>
  principal.kind === 'admin' ? 'admin' : `session:${principal.sessionId}`;

export interface HttpMcpSessionOptions {
  readonly airlock: Airlock;
  readonly principal: McpPrincipal;
  readonly progressIntervalMs: number;
  readonly logger?: Pick<Logger, 'error'> | undefined;
  readonly now: () => number;
  /** The transport handed out its session id (initialize succeeded). */
  readonly onInitialized: (session: HttpMcpSession, id: string) => void;
  /** The transport closed, however that happened (DELETE, the sweep, close()). */
  readonly onClosed: (session: HttpMcpSession) => void;
}

export class HttpMcpSession {
  readonly owner: string;
  readonly provider: SessionProvider;
  readonly mcp: AirlockMcpServer;
  readonly transport: StreamableHTTPServerTransport;
  readonly #now: () => number;
  /** When a request or stream last started or ended. */
  #lastSeenMs: number;
  /** Calls (POST, DELETE) in flight; an MCP session in use is never closed as unused. */
  #active = 0;
  /** Event streams (GET) open now. */
  #streams = 0;
  /** Whether the client ever opened an event stream: only then does having none mean it is gone. */
  #streamed = false;

  constructor(options: HttpMcpSessionOptions) {
    const { airlock, principal, logger } = options;
    this.#now = options.now;
    this.#lastSeenMs = options.now();
    this.owner = ownerOf(principal);
    const provider =
      principal.kind === 'admin' ? lazySession(airlock) : boundSession(airlock, principal.sessionId);
    this.provider = provider;
    this.mcp = createAirlockMcpServer({
      airlock,
      session: provider,
      progressIntervalMs: options.progressIntervalMs,
      ...(logger === undefined ? {} : { logger }),
      now: options.now,
    });
    this.transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => options.onInitialized(this, id),
      // DELETE /mcp answers once the session is gone, so a client that deleted it can rely on that.
      onsessionclosed: () => provider.close(),
    });
    // Set before connecting: the MCP server keeps this handler and calls it first when the transport
    // closes, whether by DELETE, by the sweep or by close().
    this.transport.onclose = () => options.onClosed(this);
  }

  /** Serves one request; the presence it shows lasts until its response is over. */
  async serve(req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> {
    // A GET is the client's event stream, open for as long as it likes: it is presence, not use.
    // Both count until the response is over (an answer streamed as events outlives handleRequest).
    const isStream = req.method === 'GET';
    if (isStream) {
      this.#streams += 1;
      this.#streamed = true;
    } else {
      this.#active += 1;
    }
    this.#lastSeenMs = this.#now();
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (isStream) this.#streams -= 1;
      else this.#active -= 1;
      this.#lastSeenMs = this.#now();
    };
    res.once('close', end);
    try {
      await this.transport.handleRequest(req, res, body);
    } finally {
      if (res.writableEnded || res.destroyed) end();
    }
  }

  /**
   * Whether the client is gone. Streamable HTTP may leave nothing open between calls, so silence alone
   * says nothing; but a client that keeps an event stream open (the official SDKs do, from the start)
   * drops it only when it goes away or reconnects. No stream and no call for `graceMs` after having
   * had one means gone. A client that never opens a stream is ended by the idle timeouts instead.
   */
  clientGone(graceMs: number): boolean {
    return (
      this.#streamed && this.#streams === 0 && this.#active === 0 && this.#now() - this.#lastSeenMs >= graceMs
    );
  }

  /** No call for `idleMs` (an open event stream is not use). */
  idle(idleMs: number): boolean {
    return this.#active === 0 && this.#now() - this.#lastSeenMs >= idleMs;
  }

  /** Closes the transport, which closes the MCP server and ends the session its provider made. */
  async close(logger: Pick<Logger, 'error'> | undefined): Promise<void> {
    await this.mcp
      .close()
      .catch((error: unknown) => logger?.error({ err: error }, 'could not close an MCP session'));
  }
}
