/**
 * The cluster's fast path, in front of Fastify: a request for a session (or an output) of another node
 * is forwarded from the HTTP server's own `request` event, before Fastify builds its request and reply
 * and runs its hooks. On a node behind a load balancer that spreads requests over the nodes, most
 * requests are of that kind (two in three with three nodes), and their CPU cost on the node that only
 * passes them on is what limits how far the cluster scales.
 *
 * It takes only the plain case and hands everything else, untouched, to Fastify, whose cluster layer
 * (http-layer.ts) decides as before: a request signed by another node (checked there), one without a
 * token (no node to send it to by its header: a WebSocket's token comes as a subprotocol), any request
 * while this node cannot reach its database (/healthz and STORE_UNAVAILABLE rules), any once the
 * server is stopping (SERVER_STOPPING), and one whose route says this node answers it itself. What it
 * forwards is forwarded exactly as that layer would: same route (request-target.ts), same signed hop
 * (forward.ts), the client's token checked by the node that runs the session. WebSocket upgrades
 * never come here (the server's `upgrade` event).
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Forwarder } from './forward.ts';
import { CLUSTER_HEADER, rawHeader } from './hop.ts';
import type { NodeHealth } from './membership.ts';
import {
  forwardTarget,
  namesSessionOrOutput,
  routeOfPath,
  sessionOfPath,
  type RequestTargetOptions,
} from './request-target.ts';

export interface FrontDoorOptions extends RequestTargetOptions {
  readonly nodeId: () => string;
  readonly health: () => NodeHealth;
  readonly forwarder: Forwarder;
  /** Whether the server is stopping: then Fastify answers (SERVER_STOPPING). */
  readonly closing: () => boolean;
  /** A forward's outcome (counts it; an unreachable node makes the route cache ask the store). */
  readonly onForward: (outcome: 'forwarded' | 'unreachable') => void;
  /**
   * Bodies already read off requests handed on after a forward failed, for Fastify to parse instead
   * of the spent stream (http-layer.ts takes them in its preParsing hook).
   */
  readonly replayedBodies: WeakMap<IncomingMessage, Buffer>;
}

type RequestListener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * Puts the fast path before the server's `request` listeners (Fastify's): they get every request it
 * does not take, as they would have without it.
 */
export function installFrontDoor(server: Server, options: FrontDoorOptions): void {
  const behind = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  const pass: RequestListener = (request, response) => {
    for (const listener of behind) listener.call(server, request, response);
  };
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    if (!take(request, response, options, pass)) pass(request, response);
  });
}

/** Takes the request when it may be another node's to answer; false hands it on at once. */
function take(
  request: IncomingMessage,
  response: ServerResponse,
  options: FrontDoorOptions,
  pass: RequestListener,
): boolean {
  const url = request.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (!namesSessionOrOutput(path) || options.closing() || options.health().status !== 'ok') return false;
  // This node's own sessions, most requests on a node that clients reach directly, go on at once.
  const session = sessionOfPath(path);
  if (session !== undefined && options.isLocal(session)) return false;
  const raw = request.rawHeaders;
  if (rawHeader(raw, 'authorization') === undefined || rawHeader(raw, CLUSTER_HEADER) !== undefined)
    return false;
  if (rawHeader(raw, 'upgrade') !== undefined) return false;
  void forwardOrPass(request, response, options, path, pass);
  return true;
}

async function forwardOrPass(
  request: IncomingMessage,
  response: ServerResponse,
  options: FrontDoorOptions,
  path: string,
  pass: RequestListener,
): Promise<void> {
  let target: ReturnType<typeof forwardTarget>;
  try {
    target = forwardTarget(await routeOfPath(options, path), options.nodeId());
  } catch {
    // The store could not say: Fastify's layer asks again and answers the error in the API's shape.
    target = null;
  }
  if (target === null) {
    pass(request, response);
    return;
  }
  // The node did not answer. Its loss may already be in the store while the route cache, read a
  // heartbeat round ago, still says live: the store is asked, and a session it says has ended (its
  // node lost) is answered here as any node answers it (410 SESSION_ENDED with the reason, after
  // authenticating the caller) instead of 503. Nothing ran anywhere: the hop never got an answer,
  // and this node only ever answers for another node's session from the store.
  const answerFromStore = async (body: Buffer | undefined): Promise<boolean> => {
    options.routes.distrust();
    if (forwardTarget(await routeOfPath(options, path), options.nodeId()) !== null) return false;
    if (body !== undefined) options.replayedBodies.set(request, body);
    pass(request, response);
    return true;
  };
  try {
    options.onForward(
      await options.forwarder.forward(request, response, target, undefined, {
        onUnreachable: answerFromStore,
      }),
    );
  } catch (error) {
    // Nothing awaits this promise: a failure left to reject would take the whole control plane (and
    // every session on it) down. The caller gets a 500 in the API's shape, or a cut connection when
    // the answer had already begun.
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(500, { 'content-type': 'application/json; charset=utf-8' });
    response.end(
      JSON.stringify({
        error: {
          code: 'INTERNAL',
          message: `could not pass the request on to node ${target.nodeId}: ${error instanceof Error ? error.message : String(error)}`,
        },
      }),
    );
  }
}
