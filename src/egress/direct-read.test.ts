import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createDirectReadDialer, passDirect } from './direct-read.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer(onConnection);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

function digestOf(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Dials the upstream, passes it to a fresh loopback client and returns what the client received. */
async function download(dial: ReturnType<typeof createDirectReadDialer>, upstreamPort: number) {
  let accepted!: (socket: Socket) => void;
  const client = new Promise<Socket>((resolve) => (accepted = resolve));
  const clientPort = await listen((socket) => accepted(socket));
  const reader = connect(clientPort, '127.0.0.1');
  const to = await client;
  const from = dial('127.0.0.1', upstreamPort);
  await once(from, 'connect');
  expect(passDirect(from, to, () => to.destroy())).toBeDefined();
  const digest = createHash('sha256');
  let received = 0;
  reader.on('data', (chunk: Buffer) => {
    received += chunk.length;
    digest.update(chunk);
  });
  await once(reader, 'end');
  reader.destroy();
  from.destroy();
  return { received, digest: digest.digest('hex') };
}

describe('direct reads', () => {
  it('delivers concurrent bulk downloads intact when the bulk buffers run out, and after one is given back', async () => {
    // Random bytes, so a read buffer reused before the client took it shows as a wrong digest.
    const body = randomBytes(16 * 1024 * 1024);
    const upstreamPort = await listen((socket) => socket.end(body));
    // One bulk buffer for three downloads: the first to grow takes it, the others read 64 KiB at a time.
    const dial = createDirectReadDialer(1);
    const first = await Promise.all([1, 2, 3].map(() => download(dial, upstreamPort)));
    expect(first).toHaveLength(3);
    for (const result of first) expect(result).toEqual({ received: body.length, digest: digestOf(body) });
    // The closed sockets gave the buffer back: a later download may grow again and still arrives whole.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await download(dial, upstreamPort)).toEqual({ received: body.length, digest: digestOf(body) });
  });

  it('hands reads to the readable side without letting a later read overwrite one still held', async () => {
    const body = randomBytes(16 * 1024 * 1024);
    // Sent once the reader is flowing, so reads come back full and grow to the bulk size.
    const upstreamPort = await listen((socket) => socket.end(body));
    const from = createDirectReadDialer()('127.0.0.1', upstreamPort);
    const chunks: Buffer[] = [];
    // Every chunk kept as given (no copy): a buffer reused for a later read would change an earlier chunk.
    from.on('data', (chunk: Buffer) => chunks.push(chunk));
    await once(from, 'end');
    expect(digestOf(Buffer.concat(chunks))).toBe(digestOf(body));
  });
});
