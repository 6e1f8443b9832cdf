/**
 * Egress traffic without a real sandbox: a web server on 127.0.0.1 (the hosts a test's sessions map
 * to it), and plain-HTTP proxy requests on a session's proxy socket, as curl inside the sandbox sends
 * them through the bridge.
 */
import { once } from 'node:events';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { egressDirectory } from '../../src/airlock/egress-directory.ts';
import { SESSION_FILES } from '../../src/egress/index.ts';

/** Answers every request; records the paths asked for. Closed when the test finishes. */
export async function httpUpstream(): Promise<{ port: number; seen: string[] }> {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end('hello from upstream\n');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen };
}

/** The host-side socket of a session's egress proxy, for a control plane with state directory `home`. */
export function proxySocket(home: string, sessionId: string): string {
  return join(egressDirectory(home), sessionId, SESSION_FILES.socket);
}

/** A plain-HTTP proxy request; resolves with the status once the answer has been read. */
export async function proxyGet(socketPath: string, url: string): Promise<{ status: number }> {
  const req = request({ socketPath, path: url, headers: { host: new URL(url).host }, agent: false });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  res.resume();
  await once(res, 'end');
  return { status: res.statusCode ?? 0 };
}
