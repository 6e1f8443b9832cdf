/**
 * The HTTP API over one control plane: Fastify, bearer tokens, per-token rate limits, JSON errors, and
 * the routes of routes/*.ts described by /v1/openapi.json.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Airlock } from '../airlock/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createRateLimiter } from '../router/index.ts';
import { createAuthenticator } from './authenticate.ts';
import { DEFAULT_DASHBOARD_DIR, registerDashboard } from './dashboard.ts';
import { createErrorHandler, errorBody } from './http-errors.ts';
import { buildOpenApi } from './openapi.ts';
import { defineRoute, registerRoute } from './route.ts';
import type { RouteSpec } from './route.ts';
import { activityRoutes } from './routes/activity.ts';
import { egressRoutes } from './routes/egress.ts';
import { approvalContextRoutes } from './routes/approval-context.ts';
import { approvalRoutes } from './routes/approvals.ts';
import { auditStreamRoutes } from './routes/audit-stream.ts';
import { auditRoutes } from './routes/audit.ts';
import { authRoutes } from './routes/auth.ts';
import { commandRoutes } from './routes/commands.ts';
import { archiveRoutes } from './routes/archive.ts';
import { fileChangeRoutes } from './routes/file-changes.ts';
import { fileRoutes } from './routes/files.ts';
import { ptyOpenApiPaths, registerPtyRoute } from './routes/pty.ts';
import { sessionCommandRoutes } from './routes/session-commands.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { systemRoutes } from './routes/system.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { createTokenRegistry } from './tokens.ts';
import type { Principal, TokenRegistry } from './tokens.ts';
import { createWebSessions } from './web-sessions.ts';

/** Who may reach /mcp: the admin and agents' session tokens; people's tokens are refused before it. */
export type AgentPrincipal = Extract<Principal, { readonly kind: 'admin' | 'session' }>;

/** What /mcp needs from the MCP layer; it answers the request itself (JSON or an event stream). */
export interface McpHttpHandler {
  handle(
    request: IncomingMessage,
    response: ServerResponse,
    body: unknown,
    principal: AgentPrincipal,
  ): Promise<void>;
  close(): Promise<void>;
}

export interface ServerOptions {
  readonly airlock: Airlock;
  readonly adminToken: string;
  /** Where the admin token is kept, for the hint in a 401. */
  readonly adminTokenPath?: string | null;
  /** Default: the configuration's `server.rateLimit`. */
  readonly rateLimit?: { readonly tokens: number; readonly perMs: number };
  /** Default: the configuration's `server.maxBody`. */
  readonly maxBodyBytes?: number;
  /** Largest file upload. Default 64 MiB, the sandbox's file-copy limit. */
  readonly maxFileBytes?: number;
  readonly mcp?: McpHttpHandler;
  readonly logger?: Logger;
  readonly version?: string;
  readonly now?: () => number;
  /** How often tokens of ended sessions are forgotten. Default 60 s. */
  readonly tokenSweepIntervalMs?: number;
  /** The built dashboard served at `/` (when `server.dashboard` is on). Default: web/dist of this checkout. */
  readonly dashboardDir?: string;
}

export interface AirlockServer {
  readonly app: FastifyInstance;
  readonly tokens: TokenRegistry;
  /** Starts listening; resolves to the URL (`http://127.0.0.1:7400`). */
  listen(options: { readonly host: string; readonly port: number }): Promise<string>;
  /**
   * Graceful stop: refuse new connections, end every session (running commands are killed and
   * recorded), let in-flight requests answer, then close the control plane. Idempotent.
   */
  close(): Promise<void>;
}

const DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024;
/** How long answers still being written after the sessions ended may take before connections are cut. */
const SHUTDOWN_GRACE_MS = 500;
const VERSION = '0.1.0';

export async function createServer(options: ServerOptions): Promise<AirlockServer> {
  const { airlock } = options;
  const logger = options.logger ?? pino({ level: 'silent' });
  const now = options.now ?? Date.now;
  const version = options.version ?? VERSION;
  const maxFileBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  // In a cluster every node checks every session token: a lost node's agents are told their session ended.
  const tokens = createTokenRegistry(options.adminToken, airlock.cluster?.sessionTokens);
  const limiter = createRateLimiter({ rate: options.rateLimit ?? airlock.config.server.rateLimit, now });

  const app = Fastify({
    logger: false,
    bodyLimit: options.maxBodyBytes ?? airlock.config.server.maxBodyBytes,
    // Ids are short; a longer path segment is a mistake or an attack, refused before routing work.
    routerOptions: { maxParamLength: 200 },
    // Answered by the hook below instead, in the API's own error shape.
    return503OnClosing: false,
    // A request body with `__proto__` or `constructor` keys is refused rather than stripped.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    forceCloseConnections: 'idle',
    // The nearest hop only (the proxy): the entries it appended are its own, those further left are the
    // client's say-so. A function, because Fastify reads a hop count as trusting nobody.
    trustProxy: airlock.config.server.trustProxy ? (_address: string, hop: number) => hop === 0 : false,
    // Errors raised before routing (an overlong path segment, a bad URL) get the same JSON shape.
    frameworkErrors: (error, request, reply) => errorHandler(error, request, reply),
  });
  const errorHandler = createErrorHandler(logger);
  app.setErrorHandler(errorHandler);
  let closing: Promise<void> | null = null;
  app.addHook('onRequest', async () => {
    if (closing !== null) {
      throw new AirlockError('SERVER_STOPPING', 'the server is shutting down; retry when it is back');
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    airlock.metrics.httpRequest({
      route: request.routeOptions.url ?? 'unmatched',
      method: request.method,
      statusCode: reply.statusCode,
      durationMs: reply.elapsedTime,
    });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send(
        errorBody(new AirlockError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
      );
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_request, body, done) =>
    done(null, body),
  );

  const tokenHint =
    options.adminTokenPath === undefined || options.adminTokenPath === null
      ? 'the admin token (AIRLOCK_TOKEN) or a session token'
      : `the admin token (in ${options.adminTokenPath}) or a session token`;

  const webSessions = createWebSessions({ now });
  const authParts = { tokens, accessTokens: airlock.accessTokens, webSessions, limiter, tokenHint };
  const authenticate = createAuthenticator(authParts);

  const routes: RouteSpec[] = [
    ...systemRoutes({ airlock, version, openApi: () => openApi }),
    ...sessionRoutes({ airlock, tokens }),
    ...commandRoutes({ airlock }),
    ...sessionCommandRoutes({ airlock }),
    ...fileRoutes({ airlock, maxFileBytes }),
    ...archiveRoutes({ airlock }),
    ...fileChangeRoutes({ airlock }),
    ...approvalRoutes({ airlock }),
    ...auditRoutes({ airlock }),
    ...authRoutes({ ...authParts, airlock }),
    ...tokenRoutes({ airlock, webSessions }),
    ...activityRoutes({ airlock }),
    ...approvalContextRoutes({ airlock }),
    ...auditStreamRoutes({ airlock }),
    ...egressRoutes({ airlock }),
    ...(options.mcp === undefined ? [] : mcpRoutes(options.mcp)),
  ];
  // Before the routes: a request for another node's session is handed to that node unauthenticated
  // here (the node that runs the session checks the token and the session), and placement runs
  // before creation.
  airlock.cluster?.install(app, { closing: () => closing !== null });
  const openApi = buildOpenApi(routes, version, ptyOpenApiPaths);
  for (const route of routes) registerRoute(app, route, { authenticate });
  await registerPtyRoute(app, { airlock, authenticate, now });
  if (airlock.config.server.dashboard) registerDashboard(app, options.dashboardDir ?? DEFAULT_DASHBOARD_DIR);

  // Tokens die with their session; forgetting them keeps the registry as small as the live sessions.
  const sweep = setInterval(() => {
    void airlock.sessions
      .list({ state: 'active' })
      .then((active) => {
        const live = new Set(active.map((session) => session.id));
        for (const sessionId of tokens.sessionIds())
          if (!live.has(sessionId)) tokens.revokeSession(sessionId);
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'token sweep failed'));
  }, options.tokenSweepIntervalMs ?? 60_000);
  sweep.unref();

  return {
    app,
    tokens,
    listen: async ({ host, port }) => {
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      if (airlock.cluster !== null) {
        // Only now is the node's address known; a node that cannot join stops here, not serving alone.
        try {
          await airlock.cluster.join({ host, port: bound });
        } catch (error) {
          await app.close();
          throw error;
        }
        airlock.metrics.labelNode(airlock.cluster.nodeId());
      }
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return `http://${shownHost}:${bound}`;
    },
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        // Stops listening at once (a request on a kept-alive connection gets SERVER_STOPPING) and
        // resolves when the requests in flight have answered, which they do once their sessions end.
        const stopped = app.close();
        try {
          await options.mcp?.close();
        } finally {
          // Whatever failed above, the sandboxes are destroyed and the store is closed.
          await airlock.close();
        }
        // Every command has ended and been recorded; what is still open is a client holding a
        // connection (an event stream, an idle keep-alive socket). It gets a moment, then is cut.
        const grace = new Promise((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
        await Promise.race([stopped, grace]);
        app.server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

function mcpRoutes(mcp: McpHttpHandler): RouteSpec[] {
  return (['POST', 'GET', 'DELETE'] as const).map((method) =>
    defineRoute({
      method,
      url: '/mcp',
      summary: 'Model Context Protocol over streamable HTTP (one Airlock session per MCP session)',
      tag: 'mcp',
      access: 'any',
      // MCP clients that can log in treat any 401 as "start OAuth": the MCP authorization spec has them
      // look for protected-resource metadata on every 401 (with or without a challenge) and give up
      // with an error about discovery, never showing this body. Airlock has no OAuth (authorization is
      // optional in MCP; it uses its own bearer tokens), so a missing or unknown token on /mcp is a 403
      // carrying the UNAUTHENTICATED body and no challenge: every client shows its message.
      unauthenticated: 'refuse',
      ...(method === 'POST' ? { body: z.unknown() } : {}),
      response: {
        status: 200,
        description: 'MCP JSON-RPC (JSON or an event stream)',
        contentType: 'application/json',
      },
      handler: async ({ principal, request, reply }) => {
        // The route opens nothing to people (no `people`), so authenticate refused them already.
        if (principal?.kind !== 'admin' && principal?.kind !== 'session') {
          throw new AirlockError('FORBIDDEN', 'MCP is for agents: use the admin token or a session token');
        }
        reply.hijack();
        await mcp.handle(request.raw, reply.raw, request.body, principal);
        return undefined;
      },
    }),
  );
}
