/**
 * Sends one parsed HTTP request on to its upstream and the answer back: for the plain-HTTP proxy
 * (absolute-form requests) and for requests read inside a tunnel (plaintext, or TLS the proxy opened
 * because the host has secrets). Here placeholders become values on their hosts and wrong-host
 * placeholders stop the request; a secret host's echo of a value becomes its placeholder again.
 */
import { request, type Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, pipeline, type Readable, type Writable } from 'node:stream';
import type { BulkRelay } from './bulk-relay.ts';
import type { StreamReplacer } from './byte-replace.ts';
import type { ConnectionRecord } from './connection-record.ts';
import { parseAuthority, parseTargetHost } from './host-name.ts';
import { sendRefusal } from './refusal-response.ts';
import {
  placeholderGuard,
  redactValues,
  substituteBody,
  substituteText,
  valueRedactor,
  type SessionSecret,
} from './secrets.ts';
import type { SessionState } from './session-state.ts';
import { passRestOfBody } from './body-pass.ts';
import { throttleStream } from './throttle.ts';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** The upstream speaks TLS (the proxy opened the client's TLS): decides the Host header's default port. */
  readonly tls: boolean;
  /** A connection to the checked address (TLS already wrapped when `tls`). */
  readonly connect: () => Socket;
  /** Reuses upstream connections within one tunnel; undefined for one connection per request. */
  readonly agent?: Agent;
}

export interface ForwardOptions {
  readonly state: SessionState;
  readonly record: ConnectionRecord;
  /** Where a large body passed on unchanged is handed off; undefined: the proxy passes it itself. */
  readonly relay?: BulkRelay | undefined;
  /** Bodies up to this size (with a Content-Length) are read whole so placeholders in them can be swapped. */
  readonly maxBodyRewriteBytes: number;
  readonly idleTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

/** Headers that describe one hop, not the request: never forwarded (RFC 9110 §7.6.1). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function headerPairs(raw: readonly string[]): Array<[string, string]> {
  const listed = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection')
      for (const name of raw[i + 1]!.split(',')) listed.add(name.trim().toLowerCase());
  }
  const pairs: Array<[string, string]> = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!HOP_BY_HOP.has(name) && !listed.has(name)) pairs.push([raw[i]!, raw[i + 1]!]);
  }
  return pairs;
}

/** The Host header names the target (a request may not claim one host and be sent to another). */
function hostHeaderMatches(value: string | undefined, target: UpstreamTarget): boolean {
  if (value === undefined) return false;
  const defaultPort = target.tls ? 443 : 80;
  const withPort = parseAuthority(value);
  if (withPort.ok) return withPort.value.host.host === target.host && withPort.value.port === target.port;
  const bare = parseTargetHost(value);
  return bare.ok && bare.value.host === target.host && target.port === defaultPort;
}

type Outcome = { ok: true } | { ok: false; secret: SessionSecret };

export async function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  target: UpstreamTarget,
  options: ForwardOptions,
): Promise<void> {
  const { record, state } = options;
  const secrets = state.secrets;
  const refuseSecret = (secret: SessionSecret) => {
    const bound = secret.boundTo(target.host);
    const code = bound ? 'placeholder_unrewritable' : 'placeholder_wrong_host';
    const message = bound
      ? `airlock: request to ${target.host} refused: it carries the placeholder of ${secret.name} where the proxy cannot swap it (a large or encoded body)`
      : `airlock: request to ${target.host} refused: it carries the placeholder of secret ${secret.name}, which is only sent to ${secret.hosts.join(', ')}`;
    record.refused(code, message);
    sendRefusal(res, 403, code, message);
  };
  if (!hostHeaderMatches(req.headers.host, target)) {
    const message = `airlock: request refused: its Host header (${JSON.stringify(String(req.headers.host ?? '')).slice(0, 90)}) does not name ${target.host}:${target.port}`;
    record.refused('host_mismatch', message);
    sendRefusal(res, 403, 'host_mismatch', message);
    return;
  }

  const path = substituteText(originForm(req.url ?? '/'), target.host, secrets, encodeURIComponent);
  if (!path.ok) return refuseSecret(path.secret);
  path.used.forEach((name) => record.secretUsed(name));
  const headers: string[] = [];
  for (const [name, value] of headerPairs(req.rawHeaders)) {
    // A placeholder as a header name can be neither swapped (names are not secret) nor sent.
    const inName = secrets.find((secret) => name.includes(secret.placeholder));
    if (inName !== undefined) return refuseSecret(inName);
    const swapped = substituteText(value, target.host, secrets);
    if (!swapped.ok) return refuseSecret(swapped.secret);
    swapped.used.forEach((used) => record.secretUsed(used));
    headers.push(name, swapped.text);
  }

  const bound = secrets.filter((secret) => secret.boundTo(target.host));
  const length = Number(req.headers['content-length'] ?? Number.NaN);
  const encoded =
    req.headers['content-encoding'] !== undefined && req.headers['content-encoding'] !== 'identity';
  let body: Buffer | undefined;
  if (bound.length > 0 && !encoded && Number.isSafeInteger(length) && length <= options.maxBodyRewriteBytes) {
    const read = await readBody(req, options.maxBodyRewriteBytes);
    if (read === undefined) return; // the client went away
    const rewritten = substituteBody(read, target.host, secrets);
    if (!rewritten.ok) return refuseSecret(rewritten.secret);
    for (const secret of bound) if (read.includes(secret.placeholder)) record.secretUsed(secret.name);
    body = rewritten.body;
    setHeader(headers, 'content-length', String(body.length));
  }

  const upstream = request({
    method: req.method,
    path: path.text,
    headers: headers as unknown as Record<string, string>,
    setHost: false,
    createConnection: target.connect,
    maxHeaderSize: options.maxHeaderBytes,
    ...(target.agent === undefined ? {} : { agent: target.agent }),
  });
  upstream.setTimeout(options.idleTimeoutMs, () =>
    upstream.destroy(Object.assign(new Error('upstream idle'), { code: 'ETIMEDOUT' })),
  );
  const outcome = new Promise<Outcome>((resolve) => {
    upstream.on('response', (response) => {
      relayResponse(req, response, res, bound, options);
      resolve({ ok: true });
    });
    upstream.on('error', (error) => {
      const code = (error as { code?: string }).code ?? 'error';
      const certificate =
        code.includes('CERT') || code.includes('SIGNATURE') || code === 'ERR_TLS_CERT_ALTNAME_INVALID';
      record.failed(
        certificate ? 'upstream_certificate' : code === 'ETIMEDOUT' ? 'idle_timeout' : 'connect_failed',
      );
      const message = certificate
        ? `airlock: the certificate of ${target.host} could not be verified (${code})`
        : `airlock: could not reach ${target.host}:${target.port} (${code})`;
      sendRefusal(res, code === 'ETIMEDOUT' ? 504 : 502, 'upstream_failed', message);
      resolve({ ok: true });
    });
  });

  if (body !== undefined) upstream.end(body);
  else {
    const guard = placeholderGuard(secrets);
    const stages: Array<Readable | Writable | Transform> = [req];
    if (guard !== undefined) stages.push(guardStream(guard, (index) => refuseSecret(secrets[index]!)));
    if (state.buckets.up !== undefined) stages.push(throttleStream(state.buckets.up));
    stages.push(upstream);
    pipeline(stages as [Readable, Writable], (error) => {
      if (error !== undefined && error !== null) upstream.destroy();
    });
  }
  await outcome;
}

/** The request target as the upstream expects it: path and query only, never the absolute URL. */
function originForm(url: string): string {
  if (url.startsWith('/')) return url;
  try {
    const parsed = new URL(url);
    return `${parsed.pathname}${parsed.search}`;
  } catch {
    return '/';
  }
}

function setHeader(headers: string[], name: string, value: string): void {
  for (let i = headers.length - 2; i >= 0; i -= 2)
    if (headers[i]!.toLowerCase() === name) headers.splice(i, 2);
  headers.push(name, value);
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Content-Length already said it fits; a body longer than it declared is a broken client.
      if (size > limit) return undefined;
      chunks.push(chunk);
    }
  } catch {
    return undefined;
  }
  return Buffer.concat(chunks);
}

/** Passes bytes on until a placeholder shows up; then fails the pipeline before forwarding any of it. */
export function guardStream(guard: StreamReplacer, onFound: (index: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const pushed = guard.push(chunk);
      if (pushed.ok) return callback(null, pushed.output);
      onFound(pushed.needleIndex);
      callback(new Error('placeholder in stream'));
    },
    flush(callback) {
      callback(null, guard.flush());
    },
  });
}

function replaceStream(replacer: StreamReplacer): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      const pushed = replacer.push(chunk);
      callback(null, pushed.ok ? pushed.output : Buffer.alloc(0));
    },
    flush(callback) {
      callback(null, replacer.flush());
    },
  });
}

function relayResponse(
  req: IncomingMessage,
  response: IncomingMessage,
  res: ServerResponse,
  bound: readonly SessionSecret[],
  options: ForwardOptions,
): void {
  const headers: string[] = [];
  // A response from a secret's host may echo the value; the sandbox gets the placeholder back instead.
  const redact = bound.length > 0;
  const encoded =
    response.headers['content-encoding'] !== undefined && response.headers['content-encoding'] !== 'identity';
  const hasBody = req.method !== 'HEAD' && response.statusCode !== 204 && response.statusCode !== 304;
  const rewriteBody = redact && !encoded && hasBody;
  for (const [name, value] of headerPairs(response.rawHeaders)) {
    // The body's length changes when a value is redacted, so it is re-framed (chunked) instead.
    if (rewriteBody && name.toLowerCase() === 'content-length') continue;
    headers.push(name, redact ? redactValues(value, bound) : value);
  }
  res.writeHead(response.statusCode ?? 502, response.statusMessage, headers);
  const length = Number(response.headers['content-length']);
  const unchanged = hasBody && !rewriteBody && options.state.buckets.down === undefined;
  // Framed by its length alone: a Transfer-Encoding beside it would mean other framing on the wire.
  const framedByLength = response.headers['transfer-encoding'] === undefined && Number.isSafeInteger(length);
  if (unchanged && framedByLength && length >= DIRECT_BODY_BYTES) {
    // After the parser has handed on what it read with the head (it is mid-read here).
    process.nextTick(() => {
      if (!passRestOfBody(response, res, length, options)) pipeBody(response, res, false, options);
    });
    return;
  }
  pipeBody(response, res, rewriteBody ? bound : false, options);
}

/** Bodies of at least this many bytes, with a known length and passed on unchanged, skip the HTTP
 * client's parser and streams (body-pass.ts); smaller ones are not worth the hand-over. */
const DIRECT_BODY_BYTES = 256 * 1024;

function pipeBody(
  response: IncomingMessage,
  res: ServerResponse,
  redactFor: readonly SessionSecret[] | false,
  options: ForwardOptions,
): void {
  const stages: Array<Readable | Writable | Transform> = [response];
  if (redactFor !== false) stages.push(replaceStream(valueRedactor(redactFor)));
  if (options.state.buckets.down !== undefined) stages.push(throttleStream(options.state.buckets.down));
  stages.push(res);
  pipeline(stages as [Readable, Writable], (error) => {
    if (error !== undefined && error !== null) res.destroy();
  });
}
