import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_CLIENT_HELLO_BYTES, parseClientHello } from './client-hello.ts';

const u16 = (n: number) => [n >> 8, n & 0xff];
const vector2 = (bytes: number[]) => [...u16(bytes.length), ...bytes];
const ascii = (text: string) => [...Buffer.from(text, 'latin1')];

function sniExtension(names: string[]): number[] {
  const list = names.flatMap((name) => [0, ...vector2(ascii(name))]);
  return [...u16(0), ...vector2(vector2(list))];
}

/** A ClientHello handshake message (type, 24-bit length, body). */
function clientHello(extensions: number[][] | undefined, sessionIdLength = 32): number[] {
  const body = [
    3,
    3,
    ...new Array<number>(32).fill(7),
    sessionIdLength,
    ...new Array<number>(sessionIdLength).fill(1),
    ...vector2([0x13, 0x01, 0x13, 0x02]),
    1,
    0,
    ...(extensions === undefined ? [] : vector2(extensions.flat())),
  ];
  return [1, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, ...body];
}

/** Splits a handshake message into TLS records of the given sizes (the last takes the rest). */
function records(message: number[], sizes: number[] = []): Uint8Array {
  const out: number[] = [];
  let at = 0;
  for (const size of [...sizes, Infinity]) {
    if (at >= message.length) break;
    const fragment = message.slice(at, at + Math.max(1, size));
    at += fragment.length;
    out.push(0x16, 3, 1, ...u16(fragment.length), ...fragment);
  }
  return Uint8Array.from(out);
}

/** The first bytes a real TLS client (Node's) sends for `servername`. */
async function realClientHello(servername: string): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const received = once(server, 'connection').then(async ([socket]) => {
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    socket.destroy();
    return chunk;
  });
  const client = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, servername });
  client.on('error', () => {});
  const hello = await received;
  client.destroy();
  server.close();
  return hello;
}

describe('parseClientHello', () => {
  it("reads the server name from a real TLS client's ClientHello", async () => {
    const hello = await realClientHello('api.example.test');
    expect(parseClientHello(hello)).toEqual({ status: 'complete', serverName: 'api.example.test' });
    // Every proper prefix is only incomplete: the proxy waits and decides nothing early.
    for (const length of [0, 1, 4, 5, 40, hello.length - 1]) {
      expect(parseClientHello(hello.subarray(0, length)).status).toBe('incomplete');
    }
  });

  it('reads a ClientHello without SNI as having no server name', () => {
    expect(parseClientHello(records(clientHello(undefined)))).toEqual({
      status: 'complete',
      serverName: undefined,
    });
    expect(parseClientHello(records(clientHello([[0, 10, 0, 0]])))).toEqual({
      status: 'complete',
      serverName: undefined,
    });
  });

  it('says not-tls for a stream that is not a TLS handshake', () => {
    expect(parseClientHello(Buffer.from('GET / HTTP/1.1\r\n'))).toEqual({ status: 'not-tls' });
    expect(parseClientHello(Buffer.from('SSH-2.0-OpenSSH_9.2\r\n'))).toEqual({ status: 'not-tls' });
  });

  it('finds the name whatever the record fragmentation (property)', () => {
    const label = fc.stringMatching(/^[a-z0-9]{1,20}$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 2, maxLength: 5 }),
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 6 }),
        (labels, sizes) => {
          const name = labels.join('.');
          const bytes = records(
            clientHello([[0, 23, 0, 0], sniExtension([name]), [0, 43, 0, 3, 2, 3, 4]]),
            sizes,
          );
          expect(parseClientHello(bytes)).toEqual({ status: 'complete', serverName: name });
        },
      ),
    );
  });

  it('never throws and never reports a name that is not printable ASCII, whatever the bytes (property, adversarial)', () => {
    const statuses = new Set(['incomplete', 'not-tls', 'complete', 'invalid']);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (bytes, asHandshake) => {
        const input = asHandshake ? Uint8Array.from([0x16, 3, 1, ...bytes]) : bytes;
        const result = parseClientHello(input);
        expect(statuses.has(result.status)).toBe(true);
        if (result.status === 'complete' && result.serverName !== undefined) {
          expect(result.serverName).toMatch(/^[\x21-\x7e]+$/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('survives mutations of a valid ClientHello (property, adversarial)', () => {
    const base = records(clientHello([sniExtension(['api.example.test']), [0, 43, 0, 3, 2, 3, 4]]));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        (edits) => {
          const bytes = Uint8Array.from(base);
          for (const [at, value] of edits) bytes[at] = value;
          const result = parseClientHello(bytes);
          if (result.status === 'complete' && result.serverName !== undefined) {
            expect(result.serverName).toMatch(/^[\x21-\x7e]+$/);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('refuses ambiguous server names: two SNI extensions, two names, a NUL inside (adversarial)', () => {
    const twice = records(clientHello([sniExtension(['a.example']), sniExtension(['b.example'])]));
    expect(parseClientHello(twice)).toMatchObject({ status: 'invalid', reason: /twice/ });
    const twoNames = records(clientHello([sniExtension(['a.example', 'b.example'])]));
    expect(parseClientHello(twoNames)).toMatchObject({ status: 'invalid' });
    const nul = records(clientHello([sniExtension(['a.example\0.b.example'])]));
    expect(parseClientHello(nul)).toMatchObject({ status: 'invalid', reason: /ASCII/ });
    const longSession = records(clientHello(undefined, 33));
    expect(parseClientHello(longSession)).toMatchObject({ status: 'invalid' });
  });

  it('refuses a ClientHello larger than the bound instead of buffering it (adversarial)', () => {
    // Claims a message far over the bound in the first record: refused at once, not waited for.
    const claim = Uint8Array.from([0x16, 3, 1, 0, 4, 1, 0x01, 0x00, 0x00]);
    expect(parseClientHello(claim)).toMatchObject({ status: 'invalid', reason: /too large/ });
    // Or many small records that together pass the bound.
    const padding = new Array<number>(MAX_CLIENT_HELLO_BYTES).fill(0);
    const huge = records(clientHello([[0, 21, ...vector2(padding)]]), new Array<number>(200).fill(16_000));
    expect(parseClientHello(huge)).toMatchObject({ status: 'invalid', reason: /too large/ });
    // A record header claiming more than TLS allows in one record.
    expect(parseClientHello(Uint8Array.from([0x16, 3, 1, 0x48, 0x01]))).toMatchObject({ status: 'invalid' });
  });
});
