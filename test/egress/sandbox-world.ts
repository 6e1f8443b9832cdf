/**
 * The world outside the sandbox, on 127.0.0.1, for the in-sandbox egress suite: an HTTP upstream and
 * HTTPS upstreams with a test CA (reached through `hosts`), each recording what it received, and a
 * resolver that answers only for the suite's names (there is no DNS here, and a rebinding name must
 * answer as an attacker's DNS would). Everything lives as long as the suite that started it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createServer as createHttpServer,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createSessionCa } from '../../src/egress/ca.ts';
import type { EgressResolver } from '../../src/egress/index.ts';

export interface Seen {
  readonly host: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly apiKey: string | undefined;
  /** For /bytes/N: the SHA-256 of the N random bytes sent. */
  readonly sent?: string;
}

export interface Upstream {
  readonly port: number;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/** N random bytes, sent in pieces as a file server would; their digest is recorded. */
function sendBytes(size: number, res: ServerResponse): string {
  const body = randomBytes(size);
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  let offset = 0;
  const pump = () => {
    while (offset < size) {
      const piece = body.subarray(offset, offset + 256 * 1024);
      offset += piece.length;
      if (!res.write(piece)) return void res.once('drain', pump);
    }
    res.end();
  };
  pump();
  return createHash('sha256').update(body).digest('hex');
}

function echo(seen: Seen[]): RequestListener {
  return (req, res) => {
    req.resume();
    const bytes = /^\/bytes\/(\d{1,9})$/.exec(req.url ?? '');
    if (bytes !== null) {
      const sent = sendBytes(Number(bytes[1]), res);
      seen.push({
        host: String(req.headers.host ?? ''),
        url: req.url ?? '',
        authorization: undefined,
        apiKey: undefined,
        sent,
      });
      return;
    }
    req.on('end', () => {
      const authorization = req.headers.authorization;
      const apiKey = req.headers['x-api-key'] as string | undefined;
      seen.push({ host: String(req.headers.host ?? ''), url: req.url ?? '', authorization, apiKey });
      // Echoes the key back, as some APIs do in errors: the proxy must hide a value it swapped in.
      res.writeHead(200, { 'content-type': 'text/plain', 'x-echo-api-key': String(apiKey ?? '') });
      res.end(`hello from ${req.headers.host ?? '?'}; your key is ${apiKey ?? 'missing'}\n`);
    });
  };
}

async function listen(server: Server, seen: Seen[]): Promise<Upstream> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function httpUpstream(): Promise<Upstream> {
  const seen: Seen[] = [];
  return listen(createHttpServer(echo(seen)), seen);
}

/** The test CA of the upstream world, and HTTPS servers whose certificates it signs for their names. */
export async function upstreamCa(): Promise<{
  readonly caPem: string;
  https(name: string): Promise<Upstream>;
}> {
  const ca = await createSessionCa('upstream-test');
  return {
    caPem: ca.material.certificatePem,
    async https(name) {
      const seen: Seen[] = [];
      const server = createHttpsServer(
        {
          SNICallback: (_sni, callback) =>
            ca.contextFor(name).then((context) => callback(null, context), callback),
        },
        echo(seen),
      );
      return listen(server, seen);
    },
  };
}

/** Answers only the names in `answers`; counts the questions (a pinned name is asked once). */
export function fixedResolver(answers: Readonly<Record<string, readonly string[]>>): {
  resolve: EgressResolver;
  asked: (name: string) => number;
} {
  const counts = new Map<string, number>();
  return {
    resolve: async (name) => {
      counts.set(name, (counts.get(name) ?? 0) + 1);
      const found = answers[name];
      if (found === undefined) throw Object.assign(new Error(`no such name ${name}`), { code: 'ENOTFOUND' });
      return found;
    },
    asked: (name) => counts.get(name) ?? 0,
  };
}
