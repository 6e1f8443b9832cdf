/**
 * Upstream servers on 127.0.0.1 and clients that talk to the egress proxy's Unix socket the way tools in
 * a sandbox would (through the bridge): plain-HTTP proxy requests, CONNECT, SOCKS5, TLS inside tunnels.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  request,
  type IncomingMessage,
  type RequestListener,
  type Server,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import {
  connect as netConnect,
  createServer as createNetServer,
  type AddressInfo,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { afterEach } from 'vitest';
import {
  createEgressProxy,
  type EgressEvent,
  type EgressProxy,
  type EgressProxyOptions,
} from '../../src/egress/index.ts';
import { createSessionCa } from '../../src/egress/ca.ts';
import { defaultHelperPath } from '../../src/sandbox/index.ts';

/** Everything a test opened, closed after it. */
const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
export function onCleanup(cleanup: () => Promise<unknown> | unknown): void {
  cleanups.push(cleanup);
}

export async function tempDirectory(): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'egress-'));
  onCleanup(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

export interface Harness {
  readonly proxy: EgressProxy;
  readonly events: EgressEvent[];
  readonly directory: string;
}

export async function startProxy(options: Partial<EgressProxyOptions> = {}): Promise<Harness> {
  const events: EgressEvent[] = [];
  const directory = options.directory ?? (await tempDirectory());
  const proxy = createEgressProxy({
    approvalWaitMs: 2_000,
    ...options,
    directory,
    onEvent: (event) => {
      events.push(event);
      options.onEvent?.(event);
    },
  });
  onCleanup(() => proxy.close());
  return { proxy, events, directory };
}

/** What the echo upstream saw, sent back as JSON. */
export interface Echo {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  readonly via: 'http' | 'https';
}

function echoHandler(via: 'http' | 'https', seen: Echo[], extra?: RequestListener): RequestListener {
  return (req, res) => {
    if (extra !== undefined && req.url?.startsWith('/custom')) return extra(req, res);
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url?.startsWith('/bytes/')) {
        const size = Number(req.url.slice('/bytes/'.length));
        res.writeHead(200, { 'content-length': size });
        const block = Buffer.alloc(64 * 1024, 120);
        let left = size;
        const pump = () => {
          while (left > 0) {
            const piece = block.subarray(0, Math.min(left, block.length));
            left -= piece.length;
            if (!res.write(piece)) return void res.once('drain', pump);
          }
          res.end();
        };
        return pump();
      }
      const echo: Echo = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
        via,
      };
      seen.push(echo);
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-echo-authorization': String(req.headers.authorization ?? ''),
      });
      res.end(JSON.stringify(echo));
    });
  };
}

async function listen(server: Server | NetServer): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(
    () =>
      new Promise((resolve) => {
        (server as Server).closeAllConnections?.();
        server.close(resolve);
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** What an upstream received, as it received it (the proxy may rewrite what the client reads back). */
export interface Upstream {
  readonly port: number;
  readonly server: Server;
  readonly seen: Echo[];
}

export async function httpUpstream(extra?: RequestListener): Promise<Upstream> {
  const seen: Echo[] = [];
  const server = createHttpServer(echoHandler('http', seen, extra));
  return { port: await listen(server), server, seen };
}

/** A test CA of the upstream world, and an HTTPS server whose certificate it signed for `names`. */
export async function httpsUpstream(
  names: readonly string[],
  extra?: RequestListener,
): Promise<Upstream & { caPem: string }> {
  const ca = await createSessionCa('upstream-test');
  const seen: Echo[] = [];
  const server = createHttpsServer(
    {
      SNICallback: (name, callback) => {
        ca.contextFor(names.includes(name) ? name : names[0]!).then(
          (context) => callback(null, context),
          callback,
        );
      },
    },
    echoHandler('https', seen, extra),
  );
  return { port: await listen(server), caPem: ca.material.certificatePem, server, seen };
}

/** A server that speaks first, like sshd, then echoes what it receives. */
export async function bannerUpstream(banner: string): Promise<{ port: number; received: () => string }> {
  let received = '';
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.write(banner);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString();
      socket.write(chunk);
    });
  });
  return { port: await listen(server), received: () => received };
}

/** A server that sends `body` once the client has said anything, then ends. */
export async function bulkUpstream(body: Buffer): Promise<{ port: number }> {
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(body));
  });
  onCleanup(() => server.close());
  return { port: await listen(server) };
}

/** A server that hashes everything it is sent and, when the client half-closes, answers with the hash. */
export async function hashingUpstream(): Promise<number> {
  const server = createNetServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    const digest = createHash('sha256');
    let received = 0;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      digest.update(chunk);
    });
    socket.on('end', () => socket.end(`${received} ${digest.digest('hex')}`));
  });
  onCleanup(() => server.close());
  return listen(server);
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

async function readReply(res: IncomingMessage): Promise<Reply> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() };
}

/** A plain-HTTP proxy request, as curl with HTTP_PROXY sends it. */
export async function proxyGet(
  socketPath: string,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  const req = request({
    socketPath,
    path: url,
    method: options.method ?? 'GET',
    headers: { host: url.startsWith('/') ? 'localhost' : new URL(url).host, ...options.headers },
    agent: false,
  });
  req.end(options.body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return readReply(res);
}

/**
 * Reads until `complete` says how many bytes form the answer; the rest is put back. Unlike `for await`,
 * it leaves the socket open.
 */
async function readAnswer(socket: Socket, complete: (bytes: Buffer) => number | undefined): Promise<Buffer> {
  let buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const length = complete(buffer);
      if (length === undefined) return;
      finish();
      if (buffer.length > length) socket.unshift(buffer.subarray(length));
      resolve(buffer.subarray(0, length));
    };
    const onEnd = () => {
      finish();
      resolve(buffer);
    };
    const finish = () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', reject);
      socket.pause();
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('error', reject);
  });
}

async function readToEnd(socket: Socket): Promise<string> {
  socket.resume();
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  if (!socket.readableEnded) await once(socket, 'end').catch(() => {});
  return text;
}

/** CONNECT through the proxy: the open tunnel, or the proxy's refusal. */
export async function connectTunnel(
  socketPath: string,
  authority: string,
): Promise<{ socket: Socket } | { refusal: string }> {
  const socket = netConnect(socketPath);
  onCleanup(() => socket.destroy());
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const head = await readAnswer(socket, (bytes) => {
    const end = bytes.indexOf('\r\n\r\n');
    return end === -1 ? undefined : end + 4;
  });
  const text = head.toString('latin1');
  if (text.startsWith('HTTP/1.1 200')) return { socket };
  return { refusal: text + (await readToEnd(socket)) };
}

/** SOCKS5 CONNECT by name: the open stream, or the reply code the proxy refused with. */
export async function socksConnect(
  socketPath: string,
  host: string,
  port: number,
): Promise<{ socket: Socket } | { reply: number }> {
  const socket = netConnect(socketPath);
  onCleanup(() => socket.destroy());
  socket.write(Buffer.from([5, 1, 0]));
  const name = Buffer.from(host);
  socket.write(
    Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([port >> 8, port & 0xff])]),
  );
  // The greeting's answer (2 bytes), then the request's (10 bytes: version, reply, 0, IPv4, address, port).
  const answer = await readAnswer(socket, (bytes) => (bytes.length >= 12 ? 12 : undefined));
  const reply = answer.length >= 4 ? answer[3]! : 255;
  return reply === 0 ? { socket } : { reply };
}

/** TLS over an open tunnel, verified against `ca` for `servername`. */
export async function tlsOver(socket: Socket, servername: string, ca: string): Promise<TLSSocket> {
  const tls = tlsConnect({ socket, servername, ca, ALPNProtocols: ['http/1.1'] });
  onCleanup(() => tls.destroy());
  await once(tls, 'secureConnect');
  return tls;
}

/** One HTTP/1.1 request written on an already open stream (plain or TLS). */
export async function requestOver(
  stream: Socket,
  host: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Reply> {
  const req = request({
    createConnection: () => stream,
    host,
    path,
    headers: { host, ...headers },
    method: body === undefined ? 'GET' : 'POST',
  });
  req.end(body);
  // Paused by whoever read the proxy's answer; an added 'data' listener does not undo an explicit pause.
  stream.resume();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  return readReply(res);
}

export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The network policy tests use: names mapped to 127.0.0.1 through `hosts`. */
export function loopbackPolicy(
  mode: 'allowlist' | 'ask' | 'none',
  allowed: ReadonlyArray<[string, number]>,
  mapped: readonly string[] = allowed.map(([host]) => host),
) {
  return {
    mode,
    allow: allowed.map(([host, port]) => ({ host, ports: [port] })),
    hosts: Object.fromEntries(mapped.map((host) => [host, '127.0.0.1'])),
  };
}

/** A helper wrapper that appends the pid of every relay it becomes to `log`. */
export async function recordingHelper(): Promise<{ path: string; relays: () => number[] }> {
  const directory = await tempDirectory();
  const log = join(directory, 'relays.log');
  const path = join(directory, 'helper');
  writeFileSync(path, `#!/bin/sh\necho $$ >> '${log}'\nexec '${defaultHelperPath}' "$@"\n`);
  chmodSync(path, 0o755);
  return {
    path,
    relays: () =>
      existsSync(log)
        ? readFileSync(log, 'utf8')
            .split('\n')
            .filter((line) => line !== '')
            .map(Number)
        : [],
  };
}
