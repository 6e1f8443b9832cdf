/**
 * A person's grants on the proxy itself: a granted host goes through in allowlist mode too, a
 * withdrawn one is refused again, names are compared as the proxy normalises them, malformed hosts
 * are refused, and one session holds at most MAX_GRANTED_HOSTS. The summary counts what ended.
 */
import { describe, expect, it } from 'vitest';
import { MAX_GRANTED_HOSTS } from '../../src/egress/index.ts';
import { httpUpstream, loopbackPolicy, proxyGet, startProxy, waitFor } from './support.ts';

describe('egress proxy: grants and the summary', () => {
  async function listedSession() {
    const upstream = await httpUpstream();
    const { proxy } = await startProxy();
    const session = await proxy.openSession(`ses_grant${Math.random().toString(36).slice(2, 8)}`, {
      network: loopbackPolicy(
        'allowlist',
        [['api.example.test', upstream.port]],
        ['api.example.test', 'docs.example.test'],
      ),
    });
    return { upstream, session };
  }

  it('lets a granted host through until the grant is withdrawn, and counts each connection', async () => {
    const { upstream, session } = await listedSession();
    const url = `http://docs.example.test:${upstream.port}/`;
    expect((await proxyGet(session.socketPath, url)).status).toBe(403);
    // Written as a person might; kept as the proxy compares names.
    expect(session.grant('Docs.Example.Test.', upstream.port)).toBe('docs.example.test');
    expect((await proxyGet(session.socketPath, url)).status).toBe(200);
    expect(session.summary().granted).toEqual([`docs.example.test:${upstream.port}`]);
    expect(session.revokeGrant('docs.example.test', upstream.port)).toBe(true);
    expect(session.revokeGrant('docs.example.test', upstream.port)).toBe(false);
    expect((await proxyGet(session.socketPath, url)).status).toBe(403);
    await waitFor(() => session.summary().connections.refused === 2);
    const summary = session.summary();
    expect(summary).toMatchObject({
      connections: { allowed: 1, refused: 2 },
      granted: [],
      pendingAsks: [],
      refused: [{ host: 'docs.example.test', port: upstream.port, reason: 'not_allowed', count: 2 }],
    });
    expect(summary.bytesDown).toBeGreaterThan(0);
    expect(summary.lastConnectionAt).not.toBeNull();
  });

  it('refuses malformed hosts and ports, and grants past the limit (adversarial)', async () => {
    const { session } = await listedSession();
    const bad: Array<[string, number]> = [
      ['127.1', 443],
      ['evil.example/path', 443],
      ['fe80::1%eth0', 443],
      ['', 443],
      ['ok.example', 0],
      ['ok.example', 70_000],
    ];
    expect(bad.length).toBeGreaterThan(0);
    for (const [host, port] of bad) {
      expect(() => session.grant(host, port), `${host}:${port}`).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    for (let index = 0; index < MAX_GRANTED_HOSTS; index += 1) session.grant(`h${index}.example`, 443);
    // The same grant again is no new one; a new one past the limit is refused, never one forgotten.
    expect(session.grant('h0.example', 443)).toBe('h0.example');
    expect(() => session.grant('one-more.example', 443)).toThrow(
      expect.objectContaining({ code: 'LIMIT_REACHED' }),
    );
    expect(session.summary().granted).toHaveLength(MAX_GRANTED_HOSTS);
  });
});
