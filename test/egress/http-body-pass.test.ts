/**
 * Plain-HTTP answers whose body the proxy passes on unchanged (src/egress/body-pass.ts): the bytes
 * arrive intact, the client's connection stays open for its next request (keep-alive), a server that
 * sends less than it announced cuts the answer instead of leaving the client waiting, and one that
 * sends more never gets the extra bytes through. Each runs with the body handed to the helper's relay
 * (when the helper is built) and with the proxy passing it itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { defaultHelperPath, isExecutable } from '../../src/sandbox/index.ts';
import { httpUpstream, loopbackPolicy, onCleanup, recordingHelper, startProxy, waitFor } from './support.ts';

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

interface Answer {
  readonly head: string;
  readonly body: Buffer;
  /** The connection ended before the announced body was whole. */
  readonly cut: boolean;
}

/** Sends one GET on `socket` and reads its answer (Content-Length framed), leaving the socket open. */
async function get(socket: Socket, url: string): Promise<Answer> {
  socket.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`);
  const chunks: Buffer[] = [];
  let buffer = Buffer.alloc(0);
  let headEnd = -1;
  let length = -1;
  let received = 0;
  const digest = (): Answer | undefined => {
    if (headEnd < 0) {
      headEnd = buffer.indexOf('\r\n\r\n');
      if (headEnd < 0) return undefined;
      const found = /\r\ncontent-length: *(\d+)/i.exec(buffer.subarray(0, headEnd).toString('latin1'));
      length = found === null ? 0 : Number(found[1]);
    }
    const start = headEnd + 4;
    if (buffer.length - start < length) return undefined;
    return {
      head: buffer.subarray(0, headEnd).toString('latin1'),
      body: buffer.subarray(start, start + length),
      cut: false,
    };
  };
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      // Joined only when it could be whole (a 24 MiB body arrives in many pieces).
      received += chunk.length;
      if (headEnd >= 0 && received - headEnd - 4 < length) return;
      buffer = Buffer.concat(chunks.splice(0, chunks.length, Buffer.concat(chunks)));
      const answer = digest();
      if (answer === undefined) return;
      done();
      resolve(answer);
    };
    const onClose = () => {
      done();
      buffer = Buffer.concat(chunks);
      const start = headEnd < 0 ? buffer.length : headEnd + 4;
      resolve({
        head: buffer.subarray(0, Math.max(0, headEnd)).toString('latin1'),
        body: buffer.subarray(start),
        cut: true,
      });
    };
    const done = () => {
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', reject);
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', reject);
  });
}

/** A raw upstream answering every request with `head` and `body` as given (framing errors included). */
async function rawUpstream(answer: (socket: Socket) => void): Promise<number> {
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => answer(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => server.close());
  return (server.address() as AddressInfo).port;
}

const helperBuilt = isExecutable(defaultHelperPath);

describe.each([
  { via: 'the relay', relay: true },
  { via: 'the proxy', relay: false },
])('egress proxy: a large plain-HTTP body passed on by $via', ({ relay }) => {
  async function open(port: number) {
    const helper = relay ? await recordingHelper() : undefined;
    const { proxy, events } = await startProxy(helper === undefined ? {} : { relayHelperPath: helper.path });
    const session = await proxy.openSession(`ses_body${relay ? 'relay' : 'proxy'}`, {
      network: loopbackPolicy('allowlist', [['files.example.test', port]]),
    });
    const socket = connect(session.socketPath);
    await once(socket, 'connect');
    onCleanup(() => socket.destroy());
    return { socket, events, relays: () => helper?.relays().length ?? 0 };
  }

  it.skipIf(relay && !helperBuilt)(
    'delivers it intact, counts it, and keeps the connection for the next request',
    async () => {
      const body = randomBytes(24 * 1024 * 1024);
      const upstream = await httpUpstream((req, res) => {
        if (req.url === '/custom/large') {
          res.writeHead(200, { 'content-length': body.length });
          res.end(body);
        } else res.end('small');
      });
      const { socket, events, relays } = await open(upstream.port);
      const base = `http://files.example.test:${upstream.port}`;
      const large = await get(socket, `${base}/custom/large`);
      expect(large.head).toMatch(/^HTTP\/1\.1 200/);
      expect({ length: large.body.length, digest: sha256(large.body) }).toEqual({
        length: body.length,
        digest: sha256(body),
      });
      // The same connection: the proxy parses the next request as ever.
      const next = await get(socket, `${base}/custom/next`);
      expect(next.body.toString()).toBe('small');
      expect(relays()).toBe(relay ? 1 : 0);
      await waitFor(() => events.length === 2);
      expect(events[0]!.bytesDown).toBeGreaterThan(body.length);
    },
  );

  it.skipIf(relay && !helperBuilt)(
    'cuts the answer when the server ends before the length it announced',
    async () => {
      const port = await rawUpstream((socket) => {
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 16777216\r\n\r\n');
        socket.end(randomBytes(6 * 1024 * 1024));
      });
      const { socket } = await open(port);
      const answer = await get(socket, `http://files.example.test:${port}/short`);
      expect(answer.cut).toBe(true);
      expect(answer.body.length).toBeLessThan(16 * 1024 * 1024);
    },
  );

  it.skipIf(relay && !helperBuilt)(
    'never passes on bytes past the announced length (adversarial)',
    async () => {
      const body = randomBytes(8 * 1024 * 1024);
      const smuggled = 'HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nsmuggled';
      let answers = 0;
      const port = await rawUpstream((socket) => {
        answers += 1;
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
        // What follows the body would be read as the answer to the client's next request.
        socket.write(Buffer.concat([body, Buffer.from(smuggled)]));
      });
      const { socket } = await open(port);
      const base = `http://files.example.test:${port}`;
      const first = await get(socket, `${base}/first`);
      expect(sha256(first.body)).toBe(sha256(body));
      // The next answer is the server's answer to the next request, not the bytes it sent too many.
      const second = await get(socket, `${base}/second`);
      expect(second.body.toString()).not.toBe('smuggled');
      expect(sha256(second.body)).toBe(sha256(body));
      expect(answers).toBe(2);
    },
  );
});
