/**
 * The other ends of the egress bulk bench, each in its own process as in real use (the tool in its
 * sandbox, the server on the network, the proxy in the control plane):
 *   serve BYTES                          prints the port, then sends BYTES to each connection that speaks
 *   serve-http BYTES                     prints the port, then answers every HTTP request with BYTES
 *   read PORT BYTES                      reads BYTES straight from 127.0.0.1:PORT, prints MiB/s
 *   read-tunnel SOCKET AUTHORITY BYTES   the same through a CONNECT tunnel on the proxy's Unix socket
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

const [mode, first, second, third] = process.argv.slice(2);

async function drain(socket: Socket, bytes: number): Promise<number> {
  const started = performance.now();
  let received = 0;
  await new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= bytes) resolve();
    });
    socket.on('error', reject);
    socket.on('close', () =>
      received >= bytes ? resolve() : reject(new Error(`closed after ${received} bytes`)),
    );
  });
  socket.destroy();
  return bytes / (1024 * 1024) / ((performance.now() - started) / 1000);
}

async function openTunnel(socketPath: string, authority: string): Promise<Socket> {
  const socket = connect(socketPath);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  let head = Buffer.alloc(0);
  while (head.indexOf('\r\n\r\n') === -1) {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    head = Buffer.concat([head, chunk]);
  }
  if (!head.toString('latin1').startsWith('HTTP/1.1 200')) throw new Error(head.toString());
  return socket;
}

if (mode === 'serve') {
  const bytes = Number(first);
  const block = Buffer.alloc(256 * 1024, 97);
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => {
      let sent = 0;
      const pump = () => {
        while (sent < bytes) {
          sent += block.length;
          if (!socket.write(block)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
} else if (mode === 'serve-http') {
  const bytes = Number(first);
  const block = Buffer.alloc(1024 * 1024, 97);
  const server = createHttpServer((_req, res) => {
    res.writeHead(200, { 'content-length': bytes });
    let sent = 0;
    const pump = () => {
      while (sent < bytes) {
        const piece = block.subarray(0, Math.min(block.length, bytes - sent));
        sent += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
} else if (mode === 'read') {
  const socket = connect(Number(first), '127.0.0.1');
  await once(socket, 'connect');
  socket.write('x');
  console.log(await drain(socket, Number(second)));
} else if (mode === 'read-tunnel') {
  const socket = await openTunnel(first!, second!);
  // One byte: the tunnel is opaque until the client speaks.
  socket.write('x');
  console.log(await drain(socket, Number(third)));
} else {
  console.error(`unknown mode ${mode}`);
  process.exitCode = 2;
}
