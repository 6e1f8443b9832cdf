import { readdir, readFile, stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import {
  bannerUpstream,
  connectTunnel,
  httpUpstream,
  httpsUpstream,
  loopbackPolicy,
  proxyGet,
  requestOver,
  socksConnect,
  startProxy,
  tlsOver,
  waitFor,
  type Echo,
} from './support.ts';

const VALUE = 'sk-live-0123456789abcdef';
const secrets = [{ name: 'API_TOKEN', value: VALUE, hosts: ['api.example.test'] }];

describe('egress proxy: secrets at the edge', () => {
  it('swaps the placeholder for the value over HTTPS to its host, verifying the upstream, and hides echoes of it', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    const { proxy, events } = await startProxy({ upstreamCa: upstream.caPem });
    const session = await proxy.openSession('ses_sec1', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
      secrets,
    });
    const placeholder = session.env['API_TOKEN']!;
    expect(placeholder).toMatch(/^airlock-secret-API_TOKEN-[0-9a-f]{32}$/);
    expect(session.env['SSL_CERT_FILE']).toBe('/.airlock/egress-ca-bundle.pem');
    expect(session.env['https_proxy']).toBe('http://127.0.0.1:3128');
    expect(session.redactions).toEqual([{ name: 'API_TOKEN', value: VALUE }]);
    expect(await readFile(session.ca!.certificatePath, 'utf8')).toBe(session.ca!.certificatePem);
    expect(await readFile(session.ca!.bundlePath, 'utf8')).toContain(session.ca!.certificatePem.trim());

    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    // The sandbox trusts the session CA: the proxy opened this TLS.
    const tls = await tlsOver(tunnel.socket, 'api.example.test', session.ca!.certificatePem);
    const body = JSON.stringify({ token: placeholder });
    const reply = await requestOver(
      tls,
      `api.example.test:${upstream.port}`,
      `/v1?key=${placeholder}`,
      { authorization: `Bearer ${placeholder}`, 'content-type': 'application/json' },
      body,
    );

    expect(reply.status).toBe(200);
    const seen = upstream.seen[0]!;
    expect(seen.headers['authorization']).toBe(`Bearer ${VALUE}`);
    expect(seen.url).toBe(`/v1?key=${VALUE}`);
    expect(JSON.parse(seen.body)).toEqual({ token: VALUE });
    // The upstream echoed the value in a header and the body; the sandbox reads the placeholder.
    expect(reply.headers['x-echo-authorization']).toBe(`Bearer ${placeholder}`);
    expect(reply.body).not.toContain(VALUE);
    expect((JSON.parse(reply.body) as Echo).headers['authorization']).toBe(`Bearer ${placeholder}`);
    tls.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'allowed', inspected: true, secrets: ['API_TOKEN'] });
  });

  it('refuses the placeholder on its way to any other host, over HTTP, CONNECT and SOCKS (adversarial)', async () => {
    const plain = await httpUpstream();
    const banner = await bannerUpstream('220 ready\r\n');
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_sec2', {
      network: loopbackPolicy('allowlist', [
        ['api.example.test', plain.port],
        ['paste.example.test', plain.port],
        ['mail.example.test', banner.port],
      ]),
      secrets,
    });
    const placeholder = session.env['API_TOKEN']!;

    const inHeader = await proxyGet(session.socketPath, `http://paste.example.test:${plain.port}/`, {
      headers: { 'x-key': placeholder },
    });
    expect(inHeader.status).toBe(403);
    expect(inHeader.body).toBe(
      `airlock: request to paste.example.test refused: it carries the placeholder of secret API_TOKEN, which is only sent to api.example.test\n`,
    );
    const inBody = await proxyGet(session.socketPath, `http://paste.example.test:${plain.port}/`, {
      method: 'POST',
      body: `data=${placeholder}`,
    });
    expect(inBody.status).toBe(403);
    const basic = Buffer.from(`me:${placeholder}`).toString('base64');
    const inBasic = await proxyGet(session.socketPath, `http://paste.example.test:${plain.port}/`, {
      headers: { authorization: `Basic ${basic}` },
    });
    expect(inBasic.status).toBe(403);

    const tunnel = await connectTunnel(session.socketPath, `paste.example.test:${plain.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const inTunnel = await requestOver(
      tunnel.socket,
      `paste.example.test:${plain.port}`,
      `/?q=${placeholder}`,
    );
    expect(inTunnel.status).toBe(403);

    const opened = await socksConnect(session.socketPath, 'mail.example.test', banner.port);
    if (!('socket' in opened)) throw new Error(`refused ${opened.reply}`);
    opened.socket.resume();
    opened.socket.write(`MAIL FROM: ${placeholder.slice(0, 20)}`);
    opened.socket.write(`${placeholder.slice(20)}\r\n`);
    await new Promise((resolve) => opened.socket.on('close', resolve));
    expect(banner.received()).not.toContain('airlock-secret');

    expect(plain.seen.some((echo) => JSON.stringify(echo).includes('airlock-secret'))).toBe(false);
    await waitFor(() => events.filter((event) => event.decision === 'refused').length === 5);
    expect(
      session
        .refusedHosts()
        .map((entry) => entry.reason)
        .sort(),
    ).toEqual(['placeholder_unrewritable', 'placeholder_wrong_host']);
  });

  it('sends the value on plain HTTP to its own host', async () => {
    const plain = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_sec3', {
      network: loopbackPolicy('allowlist', [['api.example.test', plain.port]]),
      secrets,
    });
    const reply = await proxyGet(session.socketPath, `http://api.example.test:${plain.port}/`, {
      headers: { authorization: `token ${session.env['API_TOKEN']}` },
    });
    expect(reply.status).toBe(200);
    expect(plain.seen[0]!.headers['authorization']).toBe(`token ${VALUE}`);
  });

  it('refuses an upstream whose certificate it cannot verify, with the reason', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    // No upstreamCa: the test CA is not among the system roots.
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_sec4', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
      secrets,
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const tls = await tlsOver(tunnel.socket, 'api.example.test', session.ca!.certificatePem);
    const reply = await requestOver(tls, `api.example.test:${upstream.port}`, '/', {
      authorization: `Bearer ${session.env['API_TOKEN']}`,
    });
    expect(reply.status).toBe(502);
    expect(reply.body).toMatch(/^airlock: the certificate of api.example.test could not be verified/);
    expect(upstream.seen).toHaveLength(0);
  });

  it('never puts a secret value in any event, message or refused-host entry', async () => {
    const upstream = await httpsUpstream(['api.example.test']);
    const plain = await httpUpstream();
    const { proxy, events } = await startProxy({ upstreamCa: upstream.caPem });
    const session = await proxy.openSession('ses_sec5', {
      network: loopbackPolicy('allowlist', [
        ['api.example.test', upstream.port],
        ['paste.example.test', plain.port],
      ]),
      secrets,
    });
    const placeholder = session.env['API_TOKEN']!;
    await proxyGet(session.socketPath, `http://paste.example.test:${plain.port}/`, {
      headers: { 'x-key': placeholder },
    });
    const tunnel = await connectTunnel(session.socketPath, `api.example.test:${upstream.port}`);
    if (!('socket' in tunnel)) throw new Error(tunnel.refusal);
    const tls = await tlsOver(tunnel.socket, 'api.example.test', session.ca!.certificatePem);
    await requestOver(tls, `api.example.test:${upstream.port}`, `/${placeholder}`, {
      authorization: `Bearer ${placeholder}`,
    });
    tls.destroy();
    await waitFor(() => events.length === 2);
    const everything = JSON.stringify([
      events,
      session.refusedHosts(),
      await proxy.metrics.registry.metrics(),
      session.env,
      session.placeholders,
    ]);
    expect(everything).not.toContain(VALUE);
  });

  it('keeps serving a session after a proxy restart: same socket, placeholders and CA', async () => {
    const plain = await httpUpstream();
    const first = await startProxy();
    const policy = { network: loopbackPolicy('allowlist', [['api.example.test', plain.port]]), secrets };
    const before = await first.proxy.openSession('ses_restart', policy);
    const directoryInode = (await stat(before.directory)).ino;
    await first.proxy.close();

    const second = await startProxy({ directory: first.directory });
    const after = await second.proxy.openSession('ses_restart', policy);
    expect(after.socketPath).toBe(before.socketPath);
    expect(after.env).toEqual(before.env);
    expect(after.ca!.certificatePem).toBe(before.ca!.certificatePem);
    // The directory a live sandbox has mounted is the same one (same inode), so the new socket shows
    // in it; the proxy's own directory keeps every other host user from the socket.
    expect(after.directory).toBe(before.directory);
    expect((await stat(after.directory)).ino).toBe(directoryInode);
    expect((await stat(after.socketPath)).mode & 0o777).toBe(0o666);
    // Other host users may pass through the proxy's directory, never into a session's.
    expect((await stat(first.directory)).mode & 0o777).toBe(0o711);
    expect((await stat(after.directory)).mode & 0o777).toBe(0o700);
    // Adversarial: the CA key and placeholder seed are never in what the sandbox sees.
    expect(await readdir(after.directory)).toEqual(
      expect.arrayContaining(['proxy.sock', 'ca.pem', 'ca-bundle.pem']),
    );
    expect((await readdir(after.directory)).length).toBe(3);
    const reply = await proxyGet(after.socketPath, `http://api.example.test:${plain.port}/`, {
      headers: { authorization: `Bearer ${before.env['API_TOKEN']}` },
    });
    expect(reply.status).toBe(200);
    expect(plain.seen[0]!.headers['authorization']).toBe(`Bearer ${VALUE}`);

    await after.close();
    await expect(stat(after.socketPath)).rejects.toThrow(/ENOENT/);
    await expect(stat(after.ca!.certificatePath)).rejects.toThrow(/ENOENT/);
    await expect(stat(after.directory)).rejects.toThrow(/ENOENT/);
  });
});
