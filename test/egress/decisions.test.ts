import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { EgressAnswer, EgressAsk } from '../../src/egress/index.ts';
import { connectTunnel, httpUpstream, loopbackPolicy, proxyGet, startProxy, waitFor } from './support.ts';

describe('egress proxy: ask mode', () => {
  async function askSession(
    answer: (ask: EgressAsk, signal: AbortSignal) => Promise<EgressAnswer>,
    approvalWaitMs = 2_000,
  ) {
    const upstream = await httpUpstream();
    const asks: EgressAsk[] = [];
    const { proxy, events } = await startProxy({
      approvalWaitMs,
      decide: (ask, signal) => {
        asks.push(ask);
        return answer(ask, signal);
      },
    });
    const session = await proxy.openSession(`ses_ask${Math.random().toString(36).slice(2, 8)}`, {
      network: loopbackPolicy(
        'ask',
        [['api.example.test', upstream.port]],
        ['api.example.test', 'docs.example.test'],
      ),
    });
    const url = `http://docs.example.test:${upstream.port}/`;
    return { upstream, asks, events, session, url, proxy };
  }

  it('asks a person about a host off the list; allow-once lets this connection through and asks again next time', async () => {
    const { asks, session, url, events } = await askSession(async () => 'allow-once');
    const command = session.trackCommand('cmd_ask');
    expect((await proxyGet(session.socketPath, url)).status).toBe(200);
    expect(asks).toEqual([
      {
        sessionId: session.sessionId,
        commandId: 'cmd_ask',
        host: 'docs.example.test',
        port: expect.any(Number),
        protocol: 'http',
      },
    ]);
    expect((await proxyGet(session.socketPath, url)).status).toBe(200);
    expect(asks).toHaveLength(2);
    await waitFor(() => events.length === 2);
    expect(events.map((event) => event.reason)).toEqual(['approved_once', 'approved_once']);
    expect(events.every((event) => event.commandId === 'cmd_ask')).toBe(true);
    command.end();
    expect(command.refused()).toEqual([]);
  });

  it('allow-session grants the host for the rest of the session; hosts on the list are never asked about', async () => {
    const { asks, session, url, upstream } = await askSession(async () => 'allow-session');
    expect((await proxyGet(session.socketPath, url)).status).toBe(200);
    expect((await proxyGet(session.socketPath, url)).status).toBe(200);
    expect((await proxyGet(session.socketPath, `http://api.example.test:${upstream.port}/`)).status).toBe(
      200,
    );
    expect(asks).toHaveLength(1);
  });

  it('asks once for many connections to the same host at the same time', async () => {
    let release: (answer: EgressAnswer) => void = () => {};
    const { asks, session, url } = await askSession(() => new Promise((resolve) => (release = resolve)));
    const replies = Promise.all([1, 2, 3].map(() => proxyGet(session.socketPath, url)));
    await waitFor(() => asks.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    release('allow-once');
    expect((await replies).map((reply) => reply.status)).toEqual([200, 200, 200]);
    expect(asks).toHaveLength(1);
  });

  it('refuses, with the reason, when the person says no or the decider fails', async () => {
    const denied = await askSession(async () => 'deny');
    const reply = await proxyGet(denied.session.socketPath, denied.url);
    expect(reply.status).toBe(403);
    expect(reply.headers['x-airlock-refused']).toBe('ask_denied');
    expect(reply.body).toMatch(
      /^airlock: egress to docs\.example\.test:\d+ was denied by a person; allowed: api\.example\.test:\d+\n$/,
    );
    const broken = await askSession(async () => {
      throw new Error('approval store down');
    });
    expect((await proxyGet(broken.session.socketPath, broken.url)).headers['x-airlock-refused']).toBe(
      'ask_denied',
    );
  });

  it('refuses when no one answers in time, and tells the decider to withdraw the question', async () => {
    let seenSignal: AbortSignal | undefined;
    const { session, url, events } = await askSession((_ask, signal) => {
      seenSignal = signal;
      return new Promise(() => {});
    }, 300);
    const started = Date.now();
    const reply = await proxyGet(session.socketPath, url);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(reply.status).toBe(403);
    expect(reply.body).toMatch(/was not approved within 0\.3 s/);
    expect(seenSignal?.aborted).toBe(true);
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({ decision: 'refused', reason: 'ask_timed_out' });
  });

  it('reports a connection whose client hung up while a person was asked with the real outcome', async () => {
    const { session, url, events } = await askSession(() => new Promise(() => {}), 300);
    const socket = connect(session.socketPath);
    socket.on('error', () => {});
    socket.write(`GET ${url} HTTP/1.1\r\nHost: ${new URL(url).host}\r\n\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    await waitFor(() => events.length === 1);
    expect(events[0]).toMatchObject({
      decision: 'refused',
      reason: 'ask_timed_out',
      host: 'docs.example.test',
    });
  });

  it('never asks in allowlist mode', async () => {
    const asks: EgressAsk[] = [];
    const { proxy } = await startProxy({ decide: async (ask) => (asks.push(ask), 'allow-session') });
    const session = await proxy.openSession('ses_noask', {
      network: loopbackPolicy('allowlist', [['api.example.test', 80]]),
    });
    expect((await proxyGet(session.socketPath, 'http://docs.example.test/')).status).toBe(403);
    expect(asks).toHaveLength(0);
  });
});

describe('egress proxy: names and addresses', () => {
  /** A resolver scripted per name, and a dialer that records the address and reaches the local upstream. */
  async function scripted(answers: Record<string, string[][]>) {
    const upstream = await httpUpstream();
    const lookups: string[] = [];
    const dialled: string[] = [];
    const { proxy, events } = await startProxy({
      resolve: async (host) => {
        lookups.push(host);
        const next = answers[host]?.shift();
        if (next === undefined) throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
        return next;
      },
      // Addresses here are never contacted: every connection goes to the upstream on 127.0.0.1.
      dial: (address) => {
        dialled.push(address);
        return connect(upstream.port, '127.0.0.1');
      },
    });
    const allow = Object.keys(answers).map((host) => ({ host, ports: [80] }));
    const session = await proxy.openSession('ses_dns', { network: { mode: 'ask', allow, hosts: {} } });
    return { session, lookups, dialled, events };
  }

  it('connects to the address it checked: a name that rebinds to loopback is refused, never dialled (adversarial)', async () => {
    const { session, lookups, dialled } = await scripted({
      'rebind.example.test': [['11.22.33.44'], ['127.0.0.1']],
    });
    const first = await proxyGet(session.socketPath, 'http://rebind.example.test/');
    expect(first.status).toBe(200);
    expect(dialled).toEqual(['11.22.33.44']);
    const second = await proxyGet(session.socketPath, 'http://rebind.example.test/');
    expect(second.status).toBe(403);
    expect(second.headers['x-airlock-refused']).toBe('address_forbidden');
    expect(second.body).toMatch(
      /leads to a loopback address \(127\.0\.0\.1\); only the session's network\.hosts can map a name there/,
    );
    expect(dialled).toEqual(['11.22.33.44']);
    expect(lookups).toEqual(['rebind.example.test', 'rebind.example.test']);
  });

  it('refuses metadata, private and IPv4-mapped answers, and dials only the public one of a mixed answer', async () => {
    const { session, dialled } = await scripted({
      'meta.example.test': [['169.254.169.254']],
      'mapped.example.test': [['::ffff:10.0.0.1']],
      'ula.example.test': [['fd00::1']],
      'mixed.example.test': [['10.0.0.7', '11.22.33.45']],
    });
    for (const host of ['meta', 'mapped', 'ula']) {
      expect((await proxyGet(session.socketPath, `http://${host}.example.test/`)).status, host).toBe(403);
    }
    expect((await proxyGet(session.socketPath, 'http://mixed.example.test/')).status).toBe(200);
    expect(dialled).toEqual(['11.22.33.45']);
  });

  it('never resolves a name it would refuse, so DNS carries nothing out (adversarial)', async () => {
    const { session, lookups } = await scripted({ 'ok.example.test': [['11.22.33.46']] });
    await session.update({ mode: 'allowlist', allow: [{ host: 'ok.example.test', ports: [80] }], hosts: {} });
    expect((await proxyGet(session.socketPath, 'http://c2VjcmV0.exfil.example/')).status).toBe(403);
    expect(lookups).toEqual([]);
  });

  it('refuses an address literal that is private even when a person grants it', async () => {
    const { proxy } = await startProxy({ decide: async () => 'allow-session' });
    const session = await proxy.openSession('ses_lit', { network: { mode: 'ask', allow: [], hosts: {} } });
    const tunnel = await connectTunnel(session.socketPath, '127.0.0.1:22');
    expect('refusal' in tunnel && tunnel.refusal).toMatch(/403[\s\S]*loopback address/);
    const v6 = await connectTunnel(session.socketPath, '[::ffff:169.254.169.254]:80');
    expect('refusal' in v6 && v6.refusal).toMatch(/403[\s\S]*link-local/);
  });
});
