import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  bannerUpstream,
  connectTunnel,
  httpUpstream,
  loopbackPolicy,
  onCleanup,
  proxyGet,
  startProxy,
  waitFor,
} from './support.ts';

async function closedWithin(socket: Socket, ms: number): Promise<number> {
  const started = Date.now();
  socket.resume();
  if (!socket.destroyed) {
    await Promise.race([
      once(socket, 'close'),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms)),
    ]);
  }
  return Date.now() - started;
}

/** A raw upstream, for behaviour no well-behaved server shows. */
async function rawUpstream(onSocket: (socket: Socket) => void): Promise<number> {
  const server = createServer((socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

describe('egress proxy: bounds', () => {
  it('refuses connections past the per-session limit with a reason, and takes new ones once others close', async () => {
    const banner = await bannerUpstream('hello\r\n');
    const { proxy } = await startProxy({ limits: { maxConnectionsPerSession: 2 } });
    const session = await proxy.openSession('ses_lim', {
      network: loopbackPolicy('allowlist', [['git.example.test', banner.port]]),
    });
    const open = await Promise.all(
      [1, 2].map(() => connectTunnel(session.socketPath, `git.example.test:${banner.port}`)),
    );
    expect(open.every((tunnel) => 'socket' in tunnel)).toBe(true);
    const third = await proxyGet(session.socketPath, `http://git.example.test:${banner.port}/`);
    expect(third.status).toBe(429);
    expect(third.body).toMatch(/already has 2 connections open/);
    for (const tunnel of open) if ('socket' in tunnel) tunnel.socket.destroy();
    // The proxy notices the closes asynchronously; a new tunnel is accepted once it has.
    const deadline = Date.now() + 3_000;
    let again = await connectTunnel(session.socketPath, `git.example.test:${banner.port}`);
    while (!('socket' in again) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      again = await connectTunnel(session.socketPath, `git.example.test:${banner.port}`);
    }
    expect('socket' in again).toBe(true);
  });

  it('answers headers over the size limit with 400 and closes (adversarial)', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_hdr', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const reply = await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`, {
      headers: { 'x-big': 'a'.repeat(64 * 1024) },
    });
    expect(reply.status).toBe(400);
    expect(upstream.seen).toHaveLength(0);
  });

  it('closes a client that trickles its headers (slowloris) and one that says nothing', async () => {
    const { proxy } = await startProxy({ limits: { headersTimeoutMs: 300 } });
    const session = await proxy.openSession('ses_slow', {
      network: loopbackPolicy('allowlist', [['api.example.test', 80]]),
    });
    const trickle = connect(session.socketPath);
    trickle.on('error', () => {});
    trickle.write('GET http://api.example.test/ HTTP/1.1\r\nHost: api.example.test\r\n');
    const silent = connect(session.socketPath);
    silent.on('error', () => {});
    expect(await closedWithin(trickle, 3_000)).toBeLessThan(3_000);
    expect(await closedWithin(silent, 3_000)).toBeLessThan(3_000);
  });

  it('closes an idle tunnel and records why', async () => {
    const banner = await bannerUpstream('220 ready\r\n');
    const { proxy, events } = await startProxy({ limits: { idleTimeoutMs: 300 } });
    const session = await proxy.openSession('ses_idle', {
      network: loopbackPolicy('allowlist', [['mail.example.test', banner.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `mail.example.test:${banner.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    await closedWithin(tunnel.socket, 3_000);
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', error: 'idle_timeout' });
  });

  it('gives up on an upstream that never answers, with 504 and the reason', async () => {
    const upstream = await httpUpstream((_req, _res) => {
      // never answers
    });
    const { proxy } = await startProxy({ limits: { idleTimeoutMs: 300 } });
    const session = await proxy.openSession('ses_hang', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const reply = await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/custom/hang`);
    expect(reply.status).toBe(504);
    expect(reply.body).toMatch(/could not reach api\.example\.test:\d+ \(ETIMEDOUT\)/);
  });

  it('survives an upstream that sends endless headers, and keeps serving (adversarial)', async () => {
    const port = await rawUpstream((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\n');
        const line = `X-Junk: ${'j'.repeat(1000)}\r\n`;
        for (let i = 0; i < 200; i += 1) socket.write(line);
      });
    });
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_junk', {
      network: loopbackPolicy('allowlist', [
        ['junk.example.test', port],
        ['api.example.test', upstream.port],
      ]),
    });
    expect((await proxyGet(session.socketPath, `http://junk.example.test:${port}/`)).status).toBe(502);
    expect((await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`)).status).toBe(
      200,
    );
  });

  it('holds a flooding upstream back when the client does not read, instead of buffering it (adversarial)', async () => {
    let written = 0;
    const port = await rawUpstream((socket) => {
      const block = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (written < 256 * 1024 * 1024) {
          written += block.length;
          if (!socket.write(block)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_flood', {
      network: loopbackPolicy('allowlist', [['flood.example.test', port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `flood.example.test:${port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    // The client reads nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });

  it('holds a session to its bandwidth limit, across connections', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy({ limits: { bytesPerSecondPerSession: 256 * 1024 } });
    const session = await proxy.openSession('ses_bw', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const started = Date.now();
    // 768 KiB in two parallel downloads: one second of burst, then two more seconds at the limit.
    const replies = await Promise.all(
      [1, 2].map(() =>
        proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/bytes/${384 * 1024}`),
      ),
    );
    expect(replies.map((reply) => reply.body.length)).toEqual([384 * 1024, 384 * 1024]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  });

  it('closes connections that send garbage, and keeps serving the session (adversarial)', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy({ limits: { headersTimeoutMs: 500 } });
    const session = await proxy.openSession('ses_garbage', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const payloads = [
      Buffer.from([5, 255, ...new Array<number>(900).fill(1)]),
      Buffer.from([5, 1, 0, 5, 9, 0, 3, 200]),
      Buffer.from('\x00\x01\x02 junk\r\n\r\n'),
      Buffer.from('CONNECT nonsense\r\n\r\n'),
    ];
    expect(payloads.length).toBeGreaterThan(0);
    for (const payload of payloads) {
      const socket = connect(session.socketPath);
      socket.on('error', () => {});
      socket.write(payload);
      await closedWithin(socket, 3_000);
    }
    expect((await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`)).status).toBe(
      200,
    );
  });
});
