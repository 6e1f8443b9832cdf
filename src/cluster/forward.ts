/**
 * Forwarding a request to the node that runs its session: the request line and headers as received
 * (minus hop-by-hop ones), the body piped through as it arrives, and the answer piped back the same
 * way, so a file upload, a file download and a command's event stream are never held in memory here.
 * The hop is signed with the cluster secret (secret.ts), body included: a body already read is signed
 * in the header, a streamed one in a trailer sent after it. The client's own token goes along and is
 * checked by the receiving node.
 */
import {
  type ClientRequest,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { AirlockError } from '../errors/index.ts';
import { forwardUpgrade } from './forward-upgrade.ts';
import { createHash } from 'node:crypto';
import { bodyDigest, EMPTY_BODY, newNonce, TRAILER_BODY, type ClusterSecret } from './secret.ts';

/** The header that carries a hop's signature. */
export const CLUSTER_HEADER = 'x-airlock-cluster';
/** The trailer vouching for a body streamed through (secret.ts signBody). */
export const BODY_TRAILER = 'x-airlock-cluster-body';
/** The header naming the node that answered, on every answer of a clustered node. */
export const NODE_HEADER = 'x-airlock-node';

/** Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and ours. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  CLUSTER_HEADER,
]);

/** How long connecting to another node may take before the request is answered NODE_UNREACHABLE. */
const CONNECT_TIMEOUT_MS = 5000;

export interface ForwardTarget {
  readonly nodeId: string;
  /** The node's advertised origin, from the store. */
  readonly url: string;
}

export interface ForwardOptions {
  readonly secret: ClusterSecret;
  /** This node's id (known once it has joined). */
  readonly nodeId: () => string;
  readonly now?: () => number;
}

export interface Forwarder {
  /**
   * Sends `request` to `target` and pipes its answer into `response`. `body` replaces the request's
   * own body (already read: a JSON body the placement looked at); otherwise the body is piped as it
   * arrives. Resolves when the answer has been passed on, or answered NODE_UNREACHABLE.
   */
  forward(
    request: IncomingMessage,
    response: ServerResponse,
    target: ForwardTarget,
    body?: Buffer,
  ): Promise<'forwarded' | 'unreachable'>;
  /**
   * Sends a WebSocket upgrade `request` (its connection `socket`, `head` already read past it) to
   * `target` and joins the two connections once it switched protocols (forward-upgrade.ts).
   */
  upgrade(
    request: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    target: ForwardTarget,
  ): Promise<'forwarded' | 'unreachable'>;
}

export function createForwarder(options: ForwardOptions): Forwarder {
  const now = options.now ?? Date.now;
  const upgradeOptions = {
    secret: options.secret,
    nodeId: options.nodeId,
    now,
    clusterHeader: CLUSTER_HEADER,
    nodeHeader: NODE_HEADER,
    hopByHop: HOP_BY_HOP,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
  return {
    upgrade: (request, socket, head, target) => forwardUpgrade(upgradeOptions, request, socket, head, target),
    forward(request, response, target, body) {
      const path = request.url ?? '/';
      const base = new URL(target.url);
      // Only the node's origin is used: the path comes from the request, never from the store.
      const url = new URL(path, base.origin);
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      const method = request.method ?? 'GET';
      const signed = { from: options.nodeId(), to: target.nodeId, nonce: newNonce() };
      // GET and HEAD bodies are not read by the receiving routes: none is sent, and none is signed.
      const streamed = body === undefined && hasBody(request) && method !== 'GET' && method !== 'HEAD';
      headers[CLUSTER_HEADER] = options.secret.signRequest({
        ...signed,
        method,
        url: path,
        at: now(),
        body: body !== undefined ? bodyDigest(body) : streamed ? TRAILER_BODY : EMPTY_BODY,
      });
      const client = request.socket.remoteAddress ?? '';
      const forwardedFor = request.headers['x-forwarded-for'];
      headers['x-forwarded-for'] = forwardedFor === undefined ? client : `${String(forwardedFor)}, ${client}`;
      if (body !== undefined) headers['content-length'] = String(body.length);
      else if (streamed) {
        // A trailer needs chunked encoding, which a DELETE would not get by default.
        delete headers['content-length'];
        headers['transfer-encoding'] = 'chunked';
        headers['trailer'] = BODY_TRAILER;
      } else delete headers['content-length'];

      return new Promise((resolve) => {
        const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
        const upstream = send(url, { method, headers });
        let answered = false;
        const unreachable = (error: unknown): void => {
          if (answered) {
            // The answer was under way: all that can be done is to cut the client's connection too.
            response.destroy();
            resolve('forwarded');
            return;
          }
          answered = true;
          const failure = new AirlockError(
            'NODE_UNREACHABLE',
            `node ${target.nodeId} (${base.origin}), which runs this session, did not answer: ${error instanceof Error ? error.message : String(error)}`,
            { node: target.nodeId },
          );
          if (!response.headersSent) {
            response.writeHead(503, { 'content-type': 'application/json; charset=utf-8' });
            response.end(JSON.stringify({ error: { code: failure.code, message: failure.message } }));
          } else response.destroy();
          resolve('unreachable');
        };
        // Only connecting is bounded: the answer itself may take as long as the command (or the person
        // approving it) takes, which a socket idle timeout would cut short.
        upstream.on('socket', (socket) => {
          if (!socket.connecting) return;
          const timer = setTimeout(
            () => upstream.destroy(new Error(`no connection within ${CONNECT_TIMEOUT_MS} ms`)),
            CONNECT_TIMEOUT_MS,
          );
          timer.unref();
          socket.once('connect', () => clearTimeout(timer));
          socket.once('close', () => clearTimeout(timer));
        });
        upstream.on('error', unreachable);
        upstream.on('response', (answer) => {
          answered = true;
          response.writeHead(answer.statusCode ?? 502, passHeaders(answer.headers));
          // An event stream's headers go out now, not with its first event.
          response.flushHeaders();
          answer.pipe(response);
          answer.on('error', () => response.destroy());
          answer.on('end', () => resolve('forwarded'));
          answer.on('close', () => resolve('forwarded'));
        });
        // The client went away: stop the work on the other node too (an event stream, an upload).
        response.on('close', () => {
          if (!response.writableFinished) upstream.destroy();
        });
        if (body !== undefined) upstream.end(body);
        else if (streamed) {
          streamBody(request, upstream, (digest) => options.secret.signBody(signed, digest));
        } else upstream.end();
      });
    },
  };
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Pipes the body through as it arrives, hashing it, then sends the trailer that vouches for it. */
function streamBody(
  request: IncomingMessage,
  upstream: ClientRequest,
  trailer: (digest: string) => string,
): void {
  const hash = createHash('sha256');
  request.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    if (!upstream.write(chunk)) request.pause();
  });
  upstream.on('drain', () => request.resume());
  request.on('end', () => {
    upstream.addTrailers({ [BODY_TRAILER]: trailer(hash.digest('base64url')) });
    upstream.end();
  });
  request.on('error', (error) => upstream.destroy(error));
}

function passHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}
