/**
 * Forwarding a request to the node that runs its session: the request line and headers as received
 * (minus hop-by-hop ones), the body piped through as it arrives, and the answer piped back the same
 * way, so a file upload, a file download and a command's event stream are never held in memory here.
 * The hop is signed with the cluster secret (secret.ts), body included: a body already read (or small
 * enough to read first) is signed in the header, a streamed one in a trailer sent after it. The client's own token goes along and is
 * checked by the receiving node.
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createHash } from 'node:crypto';
import { forwardUpgrade } from './forward-upgrade.ts';
import {
  BODY_TRAILER,
  CLUSTER_HEADER,
  createHopOrigins,
  HOP_BY_HOP,
  hopRawHeaders,
  nodeUnreachable,
  openHop,
  rawHeader,
  type ForwardTarget,
} from './hop.ts';
import { bodyDigest, EMPTY_BODY, newNonce, TRAILER_BODY, type ClusterSecret } from './secret.ts';

export interface ForwardOptions {
  readonly secret: ClusterSecret;
  /** This node's id (known once it has joined). */
  readonly nodeId: () => string;
  readonly now?: () => number;
}

export interface ForwardHooks {
  /**
   * The node did not answer, nothing has been sent to the client yet, and the request's body (if any)
   * is held whole (`body`), so the request can still be answered otherwise: resolves true when the
   * caller took it over (nothing more is written here), false for the NODE_UNREACHABLE answer.
   */
  readonly onUnreachable?: (body: Buffer | undefined) => Promise<boolean>;
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
    hooks?: ForwardHooks,
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
  const origins = createHopOrigins();
  return {
    upgrade: (request, socket, head, target) =>
      forwardUpgrade({ ...options, now, origins }, request, socket, head, target),
    async forward(request, response, target, given, hooks = {}) {
      let body = given;
      if (body === undefined && isSmall(request)) {
        try {
          body = await readAll(request);
        } catch {
          // The client went away before its body was in: there is no one to answer.
          response.destroy();
          return 'forwarded';
        }
      }
      const path = request.url ?? '/';
      // The request's own headers, as received: no header object is built for a forwarded request.
      const headers = hopRawHeaders(request);
      const method = request.method ?? 'GET';
      const signed = { from: options.nodeId(), to: target.nodeId, nonce: newNonce() };
      // GET and HEAD bodies are not read by the receiving routes: none is sent, and none is signed.
      const streamed = body === undefined && hasBody(request) && method !== 'GET' && method !== 'HEAD';
      headers.push(
        CLUSTER_HEADER,
        options.secret.signRequest({
          ...signed,
          method,
          url: path,
          at: now(),
          body: body !== undefined ? bodyDigest(body) : streamed ? TRAILER_BODY : EMPTY_BODY,
        }),
      );
      if (body !== undefined) headers.push('content-length', String(body.length));
      // A trailer needs chunked encoding, which a DELETE would not get by default.
      else if (streamed) headers.push('transfer-encoding', 'chunked', 'trailer', BODY_TRAILER);

      return new Promise((resolve) => {
        const upstream = openHop(origins(target.url), path, method, headers);
        let answered = false;
        const unreachable = (error: unknown): void => {
          if (answered) {
            // The answer was under way: all that can be done is to cut the client's connection too.
            response.destroy();
            resolve('forwarded');
            return;
          }
          answered = true;
          const answerUnreachable = (): void => {
            const failure = nodeUnreachable(target, error);
            if (!response.headersSent) {
              response.writeHead(503, { 'content-type': 'application/json; charset=utf-8' });
              response.end(JSON.stringify({ error: { code: failure.code, message: failure.message } }));
            } else response.destroy();
            resolve('unreachable');
          };
          const { onUnreachable } = hooks;
          // A streamed body is partly read by now: no one else can answer that request.
          if (onUnreachable === undefined || streamed || response.headersSent) {
            answerUnreachable();
            return;
          }
          onUnreachable(body).then(
            (taken) => (taken ? resolve('unreachable') : answerUnreachable()),
            () => answerUnreachable(),
          );
        };
        upstream.on('error', unreachable);
        upstream.on('response', (answer) => {
          answered = true;
          const passed = passHeaders(answer.rawHeaders);
          response.writeHead(answer.statusCode ?? 502, passed.headers);
          // An event stream's headers (an answer of no stated length) go out now, not with its first
          // event. An answer of known length goes out with its body, in one write instead of two.
          if (!passed.sized) response.flushHeaders();
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

/**
 * A body of a known length this small is read before the hop and signed in its header: one MAC each
 * way instead of three (the header's, and the trailer's made and checked), and no chunked encoding.
 * Larger ones, and those of unknown length, are streamed through without being held here.
 */
const SMALL_BODY_BYTES = 64 * 1024;

function isSmall(request: IncomingMessage): boolean {
  const method = request.method ?? 'GET';
  const length = Number(rawHeader(request.rawHeaders, 'content-length'));
  return (
    method !== 'GET' &&
    method !== 'HEAD' &&
    rawHeader(request.rawHeaders, 'transfer-encoding') === undefined &&
    Number.isSafeInteger(length) &&
    length > 0 &&
    length <= SMALL_BODY_BYTES
  );
}

/** The whole body, by its events: an async iterator over the stream costs several times as much here. */
function readAll(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    request.once('error', reject);
    // A client gone before its body was in ends nothing: its close settles the read.
    request.once('close', () => {
      if (!request.complete) reject(new Error('the client went away before its body was in'));
    });
  });
}

function hasBody(request: IncomingMessage): boolean {
  const length = rawHeader(request.rawHeaders, 'content-length');
  return (
    rawHeader(request.rawHeaders, 'transfer-encoding') !== undefined ||
    (length !== undefined && length !== '0')
  );
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

/** The answer's headers minus the connection's, as a raw list; `sized` when it states its length. */
function passHeaders(raw: readonly string[]): { headers: string[]; sized: boolean } {
  const headers: string[] = [];
  let sized = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    if (name === 'content-length') sized = true;
    headers.push(name, raw[i + 1] as string);
  }
  return { headers, sized };
}
