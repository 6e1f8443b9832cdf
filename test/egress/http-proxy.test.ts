import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { httpUpstream, loopbackPolicy, proxyGet, startProxy, waitFor, type Echo } from './support.ts';

describe('egress proxy: plain-HTTP requests', () => {
  it('forwards an allowed request to the address its hosts entry names, and records it', async () => {
    const upstream = await httpUpstream();
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_http1', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });

    const reply = await proxyGet(
      session.socketPath,
      `http://api.example.test:${upstream.port}/v1/items?q=1`,
      { headers: { 'x-test': 'yes' } },
    );
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as Echo;
    expect(echo.url).toBe('/v1/items?q=1');
    expect(echo.headers['host']).toBe(`api.example.test:${upstream.port}`);
    expect(echo.headers['x-test']).toBe('yes');

    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({
      type: 'egress.connection',
      sessionId: 'ses_http1',
      protocol: 'http',
      host: 'api.example.test',
      port: upstream.port,
      address: '127.0.0.1',
      decision: 'allowed',
      reason: 'allowlist',
      inspected: false,
    });
    expect(events[0]!.bytesUp).toBeGreaterThan(0);
    expect(events[0]!.bytesDown).toBeGreaterThan(reply.body.length);
    const metrics = await proxy.metrics.registry.metrics();
    expect(metrics).toContain('airlock_egress_connections_total{decision="allowed",reason="allowlist"} 1');
  });

  it('refuses a host not on the list with a reason the model can read, and lists it for the command', async () => {
    const upstream = await httpUpstream();
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_http2', {
      network: loopbackPolicy(
        'allowlist',
        [['api.example.test', upstream.port]],
        ['api.example.test', 'evil.example'],
      ),
    });
    const command = session.trackCommand('cmd_1');

    const reply = await proxyGet(session.socketPath, `http://evil.example:${upstream.port}/steal`);
    expect(reply.status).toBe(403);
    expect(reply.headers['x-airlock-refused']).toBe('not_allowed');
    expect(reply.body).toBe(
      `airlock: egress to evil.example:${upstream.port} is not allowed in this session; allowed: api.example.test:${upstream.port}\n`,
    );
    command.end();
    expect(command.refused()).toEqual([
      {
        host: 'evil.example',
        port: upstream.port,
        reason: 'not_allowed',
        message: reply.body.trim(),
        count: 1,
      },
    ]);
    expect(session.refusedHosts()).toHaveLength(1);
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({
      decision: 'refused',
      reason: 'not_allowed',
      commandId: 'cmd_1',
      host: 'evil.example',
    });
    expect(events[0]!.address).toBeUndefined();
  });

  it('delivers a large response intact to a client that reads slowly, and counts it', async () => {
    // Random bytes, so a read buffer handed on and then reused would show as a wrong digest.
    const body = randomBytes(12 * 1024 * 1024);
    const upstream = await httpUpstream((_req, res) => {
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    const { proxy, events } = await startProxy();
    const session = await proxy.openSession('ses_large', {
      network: loopbackPolicy('allowlist', [['files.example.test', upstream.port]]),
    });
    const url = `http://files.example.test:${upstream.port}/custom/large`;
    const req = request({ socketPath: session.socketPath, path: url, headers: { host: new URL(url).host } });
    req.end();
    const [res] = (await once(req, 'response')) as [IncomingMessage];
    // Not reading for a while fills the buffers on the way: the proxy's reads come back full.
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const digest = createHash('sha256');
    let received = 0;
    for await (const chunk of res) {
      received += (chunk as Buffer).length;
      digest.update(chunk as Buffer);
      // A slow reader now and then, so the proxy's reads wait and resume.
      if (received % 3 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(res.statusCode).toBe(200);
    expect(received).toBe(body.length);
    expect(digest.digest('hex')).toBe(createHash('sha256').update(body).digest('hex'));
    await waitFor(() => events.length === 1);
    expect(events[0]!.bytesDown).toBeGreaterThan(body.length);
  });

  it('refuses everything when the session has no network', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_http3', {
      network: { ...loopbackPolicy('allowlist', [['api.example.test', upstream.port]]), mode: 'none' },
    });
    const reply = await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`);
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/this session has no network/);
  });

  it('refuses a request whose Host header names another host than its target (adversarial)', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_http4', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const reply = await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`, {
      headers: { host: 'internal.example' },
    });
    expect(reply.status).toBe(403);
    expect(reply.headers['x-airlock-refused']).toBe('host_mismatch');
  });

  it('refuses requests sent to the proxy itself and https:// in plain form, with a hint', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession('ses_http5', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
    });
    const origin = await proxyGet(session.socketPath, '/just-a-path');
    expect(origin.status).toBe(400);
    expect(origin.body).toMatch(/send requests through it/);
    const https = await proxyGet(session.socketPath, `https://api.example.test:${upstream.port}/`);
    expect(https.status).toBe(400);
    expect(https.body).toMatch(/go through CONNECT/);
  });

  it('applies a changed allow-list to the next connection', async () => {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const policy = loopbackPolicy(
      'allowlist',
      [['api.example.test', upstream.port]],
      ['api.example.test', 'new.example.test'],
    );
    const session = await proxy.openSession('ses_http6', { network: policy });
    expect((await proxyGet(session.socketPath, `http://new.example.test:${upstream.port}/`)).status).toBe(
      403,
    );
    await proxy.updateSession('ses_http6', {
      ...policy,
      allow: [...policy.allow, { host: 'new.example.test', ports: [upstream.port] }],
    });
    expect((await proxyGet(session.socketPath, `http://new.example.test:${upstream.port}/`)).status).toBe(
      200,
    );
    await session.update(policy);
    expect((await proxyGet(session.socketPath, `http://new.example.test:${upstream.port}/`)).status).toBe(
      403,
    );
  });
});
