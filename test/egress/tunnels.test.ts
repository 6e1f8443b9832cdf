import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect as tlsConnect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  bannerUpstream,
  bulkUpstream,
  connectTunnel,
  hashingUpstream,
  httpUpstream,
  httpsUpstream,
  loopbackPolicy,
  requestOver,
  socksConnect,
  startProxy,
  tlsOver,
  waitFor,
  type Echo,
} from './support.ts';

describe('egress proxy: CONNECT', () => {
  it('tunnels TLS end to end to an allowed host: the client verifies the upstream certificate itself', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_tun1', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    // Trusting only the upstream's CA proves the proxy did not open the TLS (it has no secrets here).
    const tls = await tlsOver(tunnel.socket, 'api.example.test', upstream.caPem);
    const reply = await requestOver(tls, `api.example.test:${upstream.port}`, '/hello');
    expect((JSON.parse(reply.body) as Echo).via).toBe('https');
    tls.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({
      protocol: 'connect',
      decision: 'allowed',
      inspected: false,
      address: '127.0.0.1',
    });
  });

  it('keeps TLS end to end and prompt in a session whose secret belongs to another host', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_tun_sec', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
      secrets: [{ name: 'API_TOKEN', value: 'sk-live-elsewhere', hosts: ['secure.example.test'] }],
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    // Only the upstream's CA: the proxy passed this TLS through, and held none of its bytes back.
    const tls = await tlsOver(tunnel.socket, 'api.example.test', upstream.caPem);
    const reply = await requestOver(tls, `api.example.test:${upstream.port}`, '/prompt');
    expect((JSON.parse(reply.body) as Echo).url).toBe('/prompt');
  });

  it('answers a client-first protocol whose request ends like the start of a placeholder', async () => {
    const upstream = await bannerUpstream('');
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_tun_kv', {
      network: loopbackPolicy('allowlist', [['kv.example.test', upstream.port]]),
      secrets: [{ name: 'API_TOKEN', value: 'sk-live-elsewhere', hosts: ['secure.example.test'] }],
    });
    const tunnel = await connectTunnel(session.socketPath, `kv.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    let echoed = '';
    tunnel.socket.on('data', (chunk: Buffer) => (echoed += chunk.toString()));
    tunnel.socket.resume();
    // "a" may begin "airlock-secret-…": held a moment for the rest, then let go, not kept for good.
    tunnel.socket.write('SET a');
    await waitFor(() => echoed === 'SET a', 2_000);
    expect(upstream.received()).toBe('SET a');
  });

  it('answers a refused CONNECT with a 403 and the reason, before any tunnel exists', async () => {
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_tun2', {
      network: loopbackPolicy('allowlist', [['api.example.test', 443]]),
    });
    const tunnel = await connectTunnel(session.socketPath, 'evil.example:443');
    if ('socket' in tunnel) throw new Error('tunnel opened');
    expect(tunnel.refusal).toMatch(/^HTTP\/1.1 403 Forbidden\r\n/);
    expect(tunnel.refusal).toContain('X-Airlock-Refused: not_allowed');
    expect(tunnel.refusal).toContain(
      'airlock: egress to evil.example is not allowed in this session; allowed: api.example.test:443',
    );
  });

  it('refuses a ClientHello whose SNI names another host (domain fronting, adversarial)', async () => {
    const upstream = await httpsUpstream(['api.example.test', 'hidden.example.test']);
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_tun3', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const tls = tlsConnect({ socket: tunnel.socket, servername: 'hidden.example.test', ca: upstream.caPem });
    const [error] = (await once(tls, 'error')) as [Error];
    expect(error.message).toMatch(/access denied/i);
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'refused', reason: 'sni_mismatch' });
    expect(events[0]!.message).toMatch(/names "hidden.example.test", not api.example.test/);
  });

  it('holds every plaintext request in a tunnel to the tunnel host (adversarial: Host switched on the second request)', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_tun4', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const first = await requestOver(tunnel.socket, `api.example.test:${upstream.port}`, '/one', {
      connection: 'keep-alive',
    });
    expect(first.status).toBe(200);
    const second = await requestOver(tunnel.socket, 'internal.example.test', '/two');
    expect(second.status).toBe(403);
    expect(second.headers['x-airlock-refused']).toBe('host_mismatch');
  });
});

describe('egress proxy: bulk pass-through', () => {
  it('delivers a large download intact to a client that reads slowly, and counts every byte', async () => {
    // Random bytes, so a read buffer reused before the client took it shows as a wrong digest.
    const body = randomBytes(8 * 1024 * 1024);
    const upstream = await bulkUpstream(body);
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_bulk', {
      network: loopbackPolicy('allowlist', [['bulk.example.test', upstream.port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `bulk.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    tunnel.socket.pause();
    tunnel.socket.write('x');
    // Not reading for a while fills the socket buffers, so the proxy's writes to the client stall.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const digest = createHash('sha256');
    let received = 0;
    tunnel.socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      digest.update(chunk);
      if (received % 7 === 0) {
        tunnel.socket.pause();
        setTimeout(() => tunnel.socket.resume(), 5);
      }
    });
    tunnel.socket.resume();
    await once(tunnel.socket, 'end');
    expect(received).toBe(body.length);
    expect(digest.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    tunnel.socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', bytesDown: body.length, bytesUp: 1 });
  });
});

describe('egress proxy: half-closed tunnels', () => {
  it("passes a client's end of input on and still delivers the answer that follows it", async () => {
    const port = await hashingUpstream();
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_half', {
      network: loopbackPolicy('allowlist', [['sink.example.test', port]]),
    });
    const tunnel = await connectTunnel(session.socketPath, `sink.example.test:${port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const answer: Buffer[] = [];
    tunnel.socket.on('data', (chunk: Buffer) => answer.push(chunk));
    tunnel.socket.resume();
    // A request, then the client's end of input (as nc does); the server answers only after it.
    tunnel.socket.end('whois example.test\r\n');
    await once(tunnel.socket, 'end');
    const sent = Buffer.from('whois example.test\r\n');
    expect(Buffer.concat(answer).toString()).toBe(
      `${sent.length} ${createHash('sha256').update(sent).digest('hex')}`,
    );
    tunnel.socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', bytesUp: sent.length });
  });
});

describe('egress proxy: SOCKS5', () => {
  it('connects by name to an allowed host and passes a server-first protocol (ssh-like) through', async () => {
    const upstream = await bannerUpstream('SSH-2.0-Test\r\n');
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_socks1', {
      network: loopbackPolicy('allowlist', [['git.example.test', upstream.port]]),
    });
    const opened = await socksConnect(session.socketPath, 'git.example.test', upstream.port);
    if (!('socket' in opened)) throw new Error(`refused ${opened.reply}`);
    opened.socket.resume();
    const [banner] = (await once(opened.socket, 'data')) as [Buffer];
    expect(banner.toString()).toBe('SSH-2.0-Test\r\n');
    opened.socket.write('SSH-2.0-Client\r\n');
    await waitFor(() => upstream.received() === 'SSH-2.0-Client\r\n');
    opened.socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ protocol: 'socks', decision: 'allowed', host: 'git.example.test' });
  });

  it('refuses a host not on the list with "not allowed by ruleset" and lists why for the command', async () => {
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_socks2', {
      network: loopbackPolicy('allowlist', [['git.example.test', 22]]),
    });
    const command = session.trackCommand('cmd_s');
    const opened = await socksConnect(session.socketPath, 'evil.example', 22);
    expect(opened).toEqual({ reply: 2 });
    expect(command.refused()[0]).toMatchObject({ host: 'evil.example', port: 22, reason: 'not_allowed' });
  });

  it('tunnels TLS with the same SNI check as CONNECT', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_socks3', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const opened = await socksConnect(session.socketPath, 'api.example.test', upstream.port);
    if (!('socket' in opened)) throw new Error(`refused ${opened.reply}`);
    const tls = await tlsOver(opened.socket, 'api.example.test', upstream.caPem);
    const reply = await requestOver(tls, `api.example.test:${upstream.port}`, '/via-socks');
    expect((JSON.parse(reply.body) as Echo).url).toBe('/via-socks');
  });
});
