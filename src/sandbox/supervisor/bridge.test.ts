/**
 * The supervisor's egress bridge (native/bridge.c), run as the real helper on the host: its loopback
 * listener joined to a Unix socket that plays the egress proxy. What the sandbox drivers add (the
 * network namespace, the mount) is covered by the egress suite against every driver.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { SupervisorClient } from './client.ts';
import { defaultHelperPath } from './helper-binary.ts';

const unavailable = !existsSync(defaultHelperPath)
  ? 'the helper is not built (npm run build:helper)'
  : undefined;
const dir = mkdtempSync(join(tmpdir(), 'airlock-bridge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Bridge {
  readonly child: ChildProcess;
  readonly client: SupervisorClient;
  readonly port: number;
  readonly socketPath: string;
}
const started: Bridge[] = [];
const servers: Server[] = [];
afterEach(async () => {
  for (const bridge of started.splice(0)) {
    bridge.child.stdin?.end();
    bridge.child.kill('SIGKILL');
  }
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A port nobody listens on right now (the helper takes it a moment later). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function startBridge(
  socketPath = join(dir, `${randomBytes(4).toString('hex')}.sock`),
): Promise<Bridge> {
  const port = await freePort();
  const child = spawn(defaultHelperPath, ['supervise', '--egress-bridge', `${port}:${socketPath}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const client = new SupervisorClient(child.stdin!, child.stdout!);
  const bridge = { child, client, port, socketPath };
  started.push(bridge);
  await client.ready;
  expect(client.facts?.egressBridge).toBe(true);
  return bridge;
}

async function upstream(socketPath: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    // A client the test destroys resets its upstream too; that is expected, not a failure.
    socket.on('error', () => {});
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return server;
}

function connect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Everything the socket receives until the other side ends it. */
function received(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return new Promise((resolve, reject) => {
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('error', reject);
  });
}

const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function rssKiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1] ?? Number.NaN);
}

describe.skipIf(unavailable !== undefined)('egress bridge', () => {
  it('copies both ways and passes a half-close on, so a request can end before its answer', async () => {
    const bridge = await startBridge();
    await upstream(bridge.socketPath, (socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      // Answers only once the client has finished sending: the bridge must carry that end on.
      socket.on('end', () => socket.end(Buffer.concat(chunks).toString().toUpperCase()));
    });
    const client = await connect(bridge.port);
    const reply = received(client);
    client.end('hello through the bridge');
    expect((await reply).toString()).toBe('HELLO THROUGH THE BRIDGE');
  });

  it('moves large streams both ways at once without losing or reordering a byte', async () => {
    const bridge = await startBridge();
    const down = randomBytes(6 * 1024 * 1024);
    const up = randomBytes(6 * 1024 * 1024);
    let upstreamGot: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    await upstream(bridge.socketPath, (socket) => {
      upstreamGot = received(socket);
      socket.end(down);
    });
    const client = await connect(bridge.port);
    const clientGot = received(client);
    client.end(up);
    expect(digest(await clientGot)).toBe(digest(down));
    expect(digest(await upstreamGot)).toBe(digest(up));
  });

  it('holds a fast upstream back when the client stops reading, with bounded memory, and serves others meanwhile', async () => {
    const bridge = await startBridge();
    let written = 0;
    await upstream(bridge.socketPath, (socket) => {
      socket.once('data', (first: Buffer) => {
        if (first.toString() !== 'flood') return void socket.end(first);
        // Writes as fast as the bridge takes them: 256 MiB if nothing held it back.
        const chunk = Buffer.alloc(1024 * 1024, 7);
        const pump = (): void => {
          while (written < 256 * 1024 * 1024) {
            written += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
        };
        pump();
      });
    });
    const stalled = await connect(bridge.port);
    stalled.pause();
    stalled.write('flood');
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // Socket buffers on both sides and one bridge pipe: a few MiB, never the whole flood.
    expect(written).toBeLessThan(32 * 1024 * 1024);
    expect(rssKiB(bridge.child.pid!)).toBeLessThan(16 * 1024);
    // The loop is not stuck on the stalled connection: another connection and a command both work.
    const other = await connect(bridge.port);
    const echoed = received(other);
    other.end('ping');
    expect((await echoed).toString()).toBe('ping');
    const { exited } = bridge.client.exec(
      {
        executable: '/bin/true',
        argv: ['true'],
        env: {},
        cwd: '/',
        timeoutMs: 5_000,
        stdin: Buffer.alloc(0),
      },
      { onStdout: () => {}, onStderr: () => {} },
    );
    expect((await exited).exitCode).toBe(0);
    stalled.destroy();
  });

  it('keeps at most 64 connections open and lets the next in as one closes (adversarial: a connection flood)', async () => {
    const bridge = await startBridge();
    const upstreamSockets: Socket[] = [];
    await upstream(bridge.socketPath, (socket) => {
      upstreamSockets.push(socket);
      socket.on('error', () => {});
    });
    const clients = await Promise.all(Array.from({ length: 70 }, () => connect(bridge.port)));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(upstreamSockets.length).toBe(64);
    for (const client of clients.slice(0, 6)) client.destroy();
    await expect.poll(() => upstreamSockets.length, { timeout: 5_000 }).toBe(70);
    for (const client of clients) client.destroy();
  });

  it('closes a client when the proxy is not there, and serves again once it is (a proxy restart)', async () => {
    const bridge = await startBridge();
    const early = await connect(bridge.port);
    expect((await received(early)).length).toBe(0);
    await upstream(bridge.socketPath, (socket) => socket.end('back'));
    const later = await connect(bridge.port);
    expect((await received(later)).toString()).toBe('back');
  });

  it('refuses to start with a malformed bridge address rather than run without a way out', () => {
    expect.hasAssertions();
    for (const spec of [
      '0:/x.sock',
      '70000:/x.sock',
      '3128:relative.sock',
      `3128:/${'a'.repeat(120)}`,
      '3128',
    ]) {
      const result = spawnSync(defaultHelperPath, ['supervise', '--egress-bridge', spec], {
        input: '',
        encoding: 'utf8',
      });
      expect(result.status, spec).toBe(125);
      expect(result.stderr, spec).toMatch(/--egress-bridge wants/);
    }
  });
});
