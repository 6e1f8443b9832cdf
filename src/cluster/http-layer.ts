/**
 * The cluster's layer in front of the HTTP routes. It runs before a route authenticates anything:
 * - a request signed by another node (secret.ts) is served here, whatever it names: it was forwarded
 *   here because this node runs its session (no second hop, no loops); a bad signature is refused, and
 *   so is a body that is not the one the signature vouches for (checked once the body is read, before
 *   any route sees it);
 * - a request for a session, or an output, of another node is forwarded to that node (forward.ts),
 *   which checks the client's token and answers for the session as it is there;
 * - `POST /v1/sessions` (after the route's own authentication: only admins create sessions) goes to
 *   the node it names, or the least-loaded one (placement.ts);
 * - while this node cannot reach the database, /healthz answers 503 with why, and new work (sessions,
 *   commands, uploads, MCP calls) is refused with STORE_UNAVAILABLE.
 * Everything else (approvals, the audit log, lists) is served by any node from the shared store.
 * The plain forwarded request (a token, no signature, a healthy node that is not stopping) is taken
 * before Fastify by front-door.ts, which routes it by the same rules (request-target.ts); what it does
 * not take comes here.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AirlockError } from '../errors/index.ts';
import type { Forwarder } from './forward.ts';
import { BODY_TRAILER, CLUSTER_HEADER, NODE_HEADER, NODE_URL_HEADER } from './hop.ts';
import type { NodeHealth } from './membership.ts';
import type { NodeTable } from './node-table.ts';
import type { Placement } from './placement.ts';
import type { RouteCache } from './route-cache.ts';
import { forwardTarget, routeOfPath, SESSION_PATH, sessionOfPath } from './request-target.ts';
import { EMPTY_BODY, TRAILER_BODY, type ClusterSecret, type VerifiedRequest } from './secret.ts';

export interface ClusterHttpOptions {
  readonly nodeId: () => string;
  readonly secret: ClusterSecret;
  readonly table: NodeTable;
  /** Sessions' routes without a store query per request (route-cache.ts). */
  readonly routes: RouteCache;
  readonly forwarder: Forwarder;
  readonly placement: Placement;
  readonly health: () => NodeHealth;
  /** Whether this node runs the session now. */
  readonly isLocal: (sessionId: string) => boolean;
  /** A session's memory limit when the request gives none, for placement. */
  readonly defaultMemoryBytes: number;
  /**
   * This node's advertised origin, to name on the answers about its sessions (NODE_URL_HEADER); null
   * when `cluster.directClients` is off or the node has not joined yet.
   */
  readonly nodeUrl: () => string | null;
  /** Counts forwarded requests by outcome, for metrics. */
  readonly onForward?: (outcome: 'forwarded' | 'unreachable' | 'placed') => void;
  /** Bodies the fast path read off a request before handing it on here (front-door.ts). */
  readonly replayedBodies?: WeakMap<IncomingMessage, Buffer>;
}

export function installClusterLayer(app: FastifyInstance, options: ClusterHttpOptions): void {
  /** Requests another node signed, with what the signature vouches for and the body's digest once read. */
  const forwardedHere = new WeakMap<FastifyRequest, { verdict: VerifiedRequest; digest?: string }>();
  /** WebSocket upgrades for a session another node runs, and that node. */
  const upgradesElsewhere = new WeakMap<FastifyRequest, { nodeId: string; url: string }>();
  /** Bytes a client sent past its upgrade request (none, from a client that waits for the answer). */
  const upgradeHeads = new WeakMap<IncomingMessage, Buffer>();
  // First, before the WebSocket plugin routes the request: only the server's event carries them.
  app.server.prependListener('upgrade', (request: IncomingMessage, _socket: unknown, head: Buffer) => {
    if (head.length > 0) upgradeHeads.set(request, head);
  });

  app.addHook('onRequest', async (request, reply) => {
    const self = options.nodeId();
    void reply.header(NODE_HEADER, self);
    const signature = request.headers[CLUSTER_HEADER];
    if (signature !== undefined) {
      const verdict = options.secret.verifyRequest(String(signature), {
        method: request.method,
        url: request.raw.url ?? '/',
        to: self,
      });
      if (!verdict.ok)
        throw new AirlockError('UNAUTHENTICATED', `refused a call between cluster nodes: ${verdict.reason}`);
      forwardedHere.set(request, { verdict });
    }
    const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
    const health = options.health();
    if (health.status !== 'ok') {
      if (path === '/healthz') {
        await reply.code(503).send({ status: 'unavailable', node: self, reason: health.reason });
        return reply;
      }
      if (takesNewWork(request.method, path)) {
        throw new AirlockError(
          'STORE_UNAVAILABLE',
          `node ${self} takes no new work while it cannot reach its database (${health.reason}); retry, or use another node`,
          { node: self },
        );
      }
    }
    // A WebSocket's token may come as a subprotocol, which the route reads: no header to go by here.
    const upgrade = String(request.headers.upgrade ?? '').toLowerCase() === 'websocket';
    if (forwardedHere.has(request) || (!upgrade && request.headers.authorization === undefined))
      return undefined;
    const target = forwardTarget(await routeOfPath(options, path), self);
    if (target === null) return undefined;
    if (upgrade) {
      // Answered once the route has authenticated the caller (preHandler below), naming the node.
      upgradesElsewhere.set(request, target);
      return undefined;
    }
    reply.hijack();
    const outcome = await options.forwarder.forward(request.raw, reply.raw, target);
    forwarded(options, outcome);
    return reply;
  });

  // A signed request's body is hashed as the body parser reads it.
  app.addHook('preParsing', async (request, _reply, payload) => {
    // Read whole by the fast path before its forward failed: the request's own stream is spent.
    const replayed = options.replayedBodies?.get(request.raw);
    if (replayed !== undefined) return Readable.from([replayed], { objectMode: false });
    const forwarded = forwardedHere.get(request);
    if (forwarded === undefined) return payload;
    const hash = createHash('sha256');
    const through = new PassThrough();
    payload.on('data', (chunk: Buffer) => hash.update(chunk));
    payload.on('end', () => {
      forwarded.digest = hash.digest('base64url');
    });
    payload.on('error', (error) => through.destroy(error));
    return payload.pipe(through);
  });

  // After parsing, before authentication and every route: the body is the one the sender signed.
  app.addHook('preValidation', async (request) => {
    const forwarded = forwardedHere.get(request);
    if (forwarded === undefined) return;
    // A body nothing read (a GET's) reached no route: it counts as none.
    const digest = forwarded.digest ?? EMPTY_BODY;
    const { verdict } = forwarded;
    const trailer = request.raw.trailers[BODY_TRAILER];
    const valid =
      verdict.body === TRAILER_BODY
        ? trailer !== undefined &&
          options.secret.bodyValid(
            trailer,
            { from: verdict.from, to: options.nodeId(), nonce: verdict.nonce },
            digest,
          )
        : verdict.body === digest;
    if (!valid) {
      throw new AirlockError(
        'UNAUTHENTICATED',
        'refused a call between cluster nodes: its body is not the one its signature vouches for',
      );
    }
  });

  // After the route's authentication and body parsing: only an admin reaches placement.
  app.addHook('preHandler', async (request, reply) => {
    const elsewhere = upgradesElsewhere.get(request);
    if (elsewhere !== undefined) {
      // A dashboard's cookie names a sign-in held by this node only: that browser is told where to go.
      if (request.headers.authorization === undefined) throw upgradeElsewhere(request, elsewhere);
      // A token (the route moved one sent as a subprotocol into the header) goes along and is checked
      // again by the node that runs the session, which also bounds the terminal's frames.
      reply.hijack();
      const outcome = await options.forwarder.upgrade(
        request.raw,
        request.raw.socket,
        upgradeHeads.get(request.raw) ?? Buffer.alloc(0),
        elsewhere,
      );
      forwarded(options, outcome);
      return reply;
    }
    // Here, after the route authenticated the caller: an advertise URL may be a private address.
    nameNodeUrl(options, request, reply);
    if (
      request.method !== 'POST' ||
      request.routeOptions.url !== '/v1/sessions' ||
      forwardedHere.has(request)
    ) {
      return undefined;
    }
    const body = (request.body ?? {}) as { node?: unknown; memoryBytes?: unknown };
    const requested = typeof body.node === 'string' ? body.node : undefined;
    const memoryBytes = typeof body.memoryBytes === 'number' ? body.memoryBytes : options.defaultMemoryBytes;
    const target = await options.placement.choose(requested, memoryBytes);
    if (target.nodeId === options.nodeId()) return undefined;
    const done = options.placement.inFlight(target.nodeId);
    reply.hijack();
    try {
      await options.forwarder.forward(
        request.raw,
        reply.raw,
        target,
        Buffer.from(JSON.stringify(request.body ?? {})),
      );
      options.onForward?.('placed');
    } finally {
      done();
    }
    return reply;
  });
}

/**
 * A WebSocket signed in by the dashboard's cookie: the sign-in lives on this node only, so the
 * upgrade cannot be forwarded; the browser is told where to open it. Only an authenticated caller
 * gets this far (the route authenticates before preHandler hooks run).
 */
function upgradeElsewhere(request: FastifyRequest, target: { nodeId: string; url: string }): AirlockError {
  const url = `${target.url.replace(/^http/, 'ws')}${(request.raw.url ?? '/').split('?')[0] ?? '/'}`;
  return new AirlockError(
    'INVALID_ARGUMENT',
    `this session runs on cluster node ${target.nodeId}, and this sign-in (the dashboard's cookie) is known to this node only: open the terminal there, at ${url}, or send a token`,
    { node: target.nodeId, url },
  );
}

/** Counts a forward; one that did not reach its node stops the cache vouching for where nodes are. */
export function forwarded(
  options: Pick<ClusterHttpOptions, 'routes' | 'onForward'>,
  outcome: 'forwarded' | 'unreachable',
): void {
  if (outcome === 'unreachable') options.routes.distrust();
  options.onForward?.(outcome);
}

/**
 * Names this node's advertised origin on its answer about a session it runs (a request naming one of
 * its live sessions, or a session's creation: forwarded elsewhere by placement, the node that creates
 * it answers instead), for clients to send that session's requests here (cluster.directClients). Why
 * a client may trust it: it comes from a node of the cluster (this one, or through the node the
 * client asked, which passes this node's answer on), and the SDK follows only an origin of the scheme
 * it was given (docs/scaling.md, "Clients that follow their session").
 */
function nameNodeUrl(options: ClusterHttpOptions, request: FastifyRequest, reply: FastifyReply): void {
  const nodeUrl = options.nodeUrl();
  if (nodeUrl === null) return;
  const path = (request.raw.url ?? '/').split('?')[0] ?? '/';
  const session = sessionOfPath(path);
  const creation = request.method === 'POST' && path === '/v1/sessions';
  if (creation || (session !== undefined && options.isLocal(session)))
    void reply.header(NODE_URL_HEADER, nodeUrl);
}

/** New work: what a node that cannot record it must not start. Reads and decisions stay open. */
function takesNewWork(method: string, path: string): boolean {
  // Reading, and ending a session, stay open: neither starts anything that would go unrecorded.
  if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE') return false;
  return path === '/v1/sessions' || SESSION_PATH.test(path) || path === '/mcp';
}
