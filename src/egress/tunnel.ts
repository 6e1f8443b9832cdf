/**
 * A tunnel (CONNECT or SOCKS) once its host is allowed and the upstream connected. The client's first
 * bytes decide what it is:
 * - TLS: the ClientHello's SNI must name the tunnel's host (no domain fronting: a shared front end
 *   routes by SNI). Then end to end, or opened by the proxy when the host has secrets.
 * - HTTP/1: read request by request by the proxy (each Host checked, placeholders swapped or refused).
 * - anything else (ssh, a database protocol): passed through, every placeholder refused on the way.
 * If the upstream speaks first (ssh, SMTP), it is that last kind from the start.
 */
import type { Socket } from 'node:net';
import { pipeline, Transform } from 'node:stream';
import type { NeedleScanner } from './byte-replace.ts';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.ts';
import type { ConnectionRecord } from './connection-record.ts';
import type { BulkRelay } from './bulk-relay.ts';
import { passDirect } from './direct-read.ts';
import { passWithHandoff } from './handoff-pass.ts';
import { parseTargetHost, type TargetHost } from './host-name.ts';
import { placeholderScanner } from './secrets.ts';
import type { SessionState } from './session-state.ts';
import { throttleStream } from './throttle.ts';

export type StreamKind = 'tls' | 'http' | 'opaque';

/** Methods an HTTP/1 client starts a request with; anything else is not read as HTTP. */
const HTTP_METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'TRACE',
  'PROPFIND',
  'REPORT',
  'MKCOL',
  'MOVE',
  'COPY',
  'LOCK',
  'UNLOCK',
  'PRI',
]);
const LONGEST_METHOD = 9;

/** What the first bytes of a client stream are; undefined until enough has arrived to tell. */
export function classifyStream(bytes: Buffer): StreamKind | undefined {
  if (bytes.length === 0) return undefined;
  if (bytes[0] === 0x16) return 'tls';
  const space = bytes.subarray(0, LONGEST_METHOD + 1).indexOf(0x20);
  if (space === -1) {
    const uppercaseSoFar = bytes.subarray(0, LONGEST_METHOD).every((byte) => byte >= 0x41 && byte <= 0x5a);
    return uppercaseSoFar && bytes.length <= LONGEST_METHOD ? undefined : 'opaque';
  }
  return HTTP_METHODS.has(bytes.subarray(0, space).toString('latin1')) ? 'http' : 'opaque';
}

/**
 * How long a tail that begins a placeholder is held when nothing follows it. Long enough for a
 * client's next write of the same message to arrive (a placeholder cut across two writes is then
 * caught whole); short enough that a protocol waiting for its reply is only delayed.
 */
const HELD_TAIL_RELEASE_MS = 50;

/** Passes bytes on until a placeholder shows up; then fails the pipeline without forwarding it. */
function scanStream(scanner: NeedleScanner, onFound: () => void): Transform {
  let timer: NodeJS.Timeout | undefined;
  const stopTimer = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      stopTimer();
      const pushed = scanner.push(chunk);
      if (!pushed.ok) {
        onFound();
        return callback(new Error('placeholder in stream'));
      }
      if (scanner.held() > 0) timer = setTimeout(() => this.push(scanner.release()), HELD_TAIL_RELEASE_MS);
      callback(null, pushed.output);
    },
    flush(callback) {
      stopTimer();
      callback(null, scanner.release());
    },
    destroy(error, callback) {
      stopTimer();
      callback(error);
    },
  });
}

/** TLS alert access_denied (fatal): the client's TLS library reports a refusal, not a broken stream. */
const TLS_ACCESS_DENIED = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x31]);

export interface TunnelOptions {
  readonly state: SessionState;
  readonly record: ConnectionRecord;
  readonly target: TargetHost;
  readonly port: number;
  readonly client: Socket;
  /** Bytes the client sent after its CONNECT or SOCKS request, already read. */
  readonly head: Buffer;
  readonly upstream: Socket;
  readonly idleTimeoutMs: number;
  /** Where a pass-through tunnel that carries bulk is handed off; undefined: the proxy relays all. */
  readonly relay?: BulkRelay | undefined;
  /**
   * The proxy reads this stream itself: HTTP requests one by one, or TLS it terminates. `first` holds
   * the client bytes read so far; `upstream` is the connected socket, nothing read from it yet.
   */
  readonly inspect: (kind: 'tls' | 'http', first: Buffer, upstream: Socket) => void;
}

export function runTunnel(options: TunnelOptions): void {
  const { client, upstream, record, state } = options;
  let pending = options.head;
  let serverSpoke = false;
  const closeBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  const onIdle = () => {
    record.failed('idle_timeout');
    closeBoth();
  };
  const onUpstreamClose = () => client.destroy();
  for (const socket of [client, upstream]) {
    // A fixed number per connection (bookkeeping, two pipelines), not a leak; only past Node's default of 10.
    socket.setMaxListeners(32);
    socket.setTimeout(options.idleTimeoutMs, onIdle);
    socket.on('error', closeBoth);
  }
  client.on('close', () => upstream.destroy());
  upstream.on('close', onUpstreamClose);
  /**
   * From here the proxy reads HTTP on the client side (its keep-alive and upstream idle timers apply)
   * and its HTTP client owns the upstream socket, which it may close between requests.
   */
  const releaseUpstream = () => {
    for (const socket of [client, upstream]) {
      socket.setTimeout(0);
      socket.off('timeout', onIdle);
    }
    upstream.off('close', onUpstreamClose);
    upstream.off('error', closeBoth);
    upstream.on('error', () => {}); // until the HTTP client attaches its own handler
  };

  // A server that speaks first (ssh, SMTP) is answered by the client only after its banner arrives,
  // so the banner is passed on at once, and the stream is opaque from then on.
  const onUpstreamData = (chunk: Buffer) => {
    serverSpoke = true;
    if (!client.write(chunk)) {
      upstream.pause();
      client.once('drain', () => upstream.resume());
    }
  };
  const onClientData = (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    decide();
  };
  const stopWatching = () => {
    upstream.off('data', onUpstreamData);
    client.off('data', onClientData);
    client.pause();
  };

  const decide = () => {
    if (serverSpoke) return startPassthrough(pending, 'scan');
    const kind = classifyStream(pending);
    if (kind === undefined) return;
    if (kind === 'opaque') return startPassthrough(pending, 'scan');
    if (kind === 'http') {
      stopWatching();
      releaseUpstream();
      options.inspect('http', pending, upstream);
      return;
    }
    const hello = parseClientHello(pending);
    if (hello.status === 'incomplete') {
      if (pending.length > MAX_CLIENT_HELLO_BYTES) refuseTls('the ClientHello is too large');
      return;
    }
    if (hello.status !== 'complete') return refuseTls(hello.status === 'invalid' ? hello.reason : 'not TLS');
    const problem = sniProblem(hello.serverName, options.target);
    if (problem !== undefined) return refuseTls(problem);
    const bound = state.secrets.some((secret) => secret.boundTo(options.target.host));
    // End to end: what follows is ciphertext, where no placeholder can be seen (secrets.ts).
    if (!bound) return startPassthrough(pending, 'encrypted');
    stopWatching();
    releaseUpstream();
    options.inspect('tls', pending, upstream);
  };

  const refuseTls = (why: string) => {
    stopWatching();
    record.refused('sni_mismatch', `airlock: TLS to ${options.target.host} refused: ${why}`);
    client.end(TLS_ACCESS_DENIED);
    upstream.destroy();
  };

  const startPassthrough = (first: Buffer, content: 'scan' | 'encrypted') => {
    stopWatching();
    // Half-open from here: a client that ends its side (a request sent, its answer awaited, as nc
    // does) still gets the answer, which Node would otherwise cut off by ending the proxy's side too.
    // The end is passed on to the upstream, and the tunnel closes once both directions have ended.
    client.allowHalfOpen = true;
    const up: NodeJS.ReadWriteStream[] = [];
    const scanner = content === 'scan' ? placeholderScanner(state.secrets) : undefined;
    if (scanner !== undefined) {
      up.push(
        scanStream(scanner, () => {
          record.refused(
            'placeholder_unrewritable',
            `airlock: stream to ${options.target.host} refused: it carries a secret's placeholder the proxy cannot swap in this protocol`,
          );
        }),
      );
    }
    if (state.buckets.up !== undefined) up.push(throttleStream(state.buckets.up));
    // Nothing to read in it and no rate to hold it to: the proxy need not see its bytes at all.
    if (up.length === 0 && state.buckets.down === undefined && passToRelay(options, first, closeBoth)) return;
    const down: NodeJS.ReadWriteStream[] =
      state.buckets.down === undefined ? [] : [throttleStream(state.buckets.down)];
    pipeline(
      [client, ...up, upstream] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream],
      (error) => {
        if (error) closeBoth();
      },
    );
    if (down.length > 0 || passDirect(upstream, client, closeBoth) === undefined) {
      pipeline(
        [upstream, ...down, client] as unknown as [NodeJS.ReadableStream, NodeJS.WritableStream],
        (error) => {
          if (error) closeBoth();
        },
      );
    }
    // Written synchronously after piping begins and before the paused client flows again, so the bytes
    // already read stay first and pass the same guard as the rest.
    if (first.length > 0) (up[0] ?? upstream).write(first);
    client.resume();
  };

  upstream.on('data', onUpstreamData);
  client.on('data', onClientData);
  client.resume();
  if (pending.length > 0) decide();
}

/** A pass-through that a relay process takes over once it carries bulk; false when none can. */
function passToRelay(options: TunnelOptions, first: Buffer, closeBoth: () => void): boolean {
  const { relay, record } = options;
  if (relay === undefined) return false;
  return passWithHandoff({
    client: options.client,
    upstream: options.upstream,
    first,
    relay,
    onError: closeBoth,
    onHandedOff: () => record.relayStarted(),
    onRelayed: (result) => {
      record.relayed(result.up, result.down);
      if (result.end === 'idle') record.failed('idle_timeout');
      closeBoth();
    },
  });
}

/** Why the ClientHello's server name does not fit the tunnel's host, or undefined when it does. */
function sniProblem(serverName: string | undefined, target: TargetHost): string | undefined {
  if (target.kind === 'ip') {
    // Clients send no SNI for an address; a name here would be one the person never allowed.
    return serverName === undefined
      ? undefined
      : `the ClientHello names ${JSON.stringify(serverName).slice(0, 90)}, not ${target.host}`;
  }
  if (serverName === undefined)
    return `the ClientHello names no server (SNI), so it cannot be held to ${target.host}`;
  const parsed = parseTargetHost(serverName);
  if (parsed.ok && parsed.value.host === target.host) return undefined;
  return `the ClientHello names ${JSON.stringify(serverName).slice(0, 90)}, not ${target.host} (domain fronting)`;
}

/*
 * Security limitations
 * - A stream that is neither TLS nor HTTP/1 (ssh, a database protocol) is passed as is to the checked
 *   address of an allowed host; only the placeholder guard reads it.
 * - HTTP/2 with prior knowledge (cleartext) is refused: it is read as HTTP/1 and fails.
 * - Encrypted ClientHello: the outer SNI names the front end, not the host, so it is refused.
 */
