/**
 * Egress from commands inside real sandboxes, the same suite on every driver: a control plane made
 * with `createAirlock`, its sessions' commands reaching upstream servers on 127.0.0.1 (through
 * `hosts`) by the supervisor's bridge and the egress proxy, the way an agent's tools would. Each test
 * asserts what a user sees: the command's output, its result's refused hosts, the approval queue,
 * the audit log. A driver missing on the machine is skipped with the reason, unless
 * AIRLOCK_REQUIRE_DRIVERS names it: then that is a failure.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createAirlock, type Airlock, type Session } from '../../src/airlock/index.ts';
import type { RunResult } from '../../src/router/index.ts';
import type { SessionCreateOptions } from '../../src/sessions/index.ts';
import { CLIENT_PATH, CLIENT_SCRIPT } from './sandbox-client.ts';
import { fixedResolver, httpUpstream, upstreamCa, type Upstream } from './sandbox-world.ts';
import { defineSecretTests } from './sandbox-secrets.ts';
import { defineApprovalTests } from './sandbox-approvals.ts';

export interface EgressTarget {
  readonly driver: 'bwrap' | 'gvisor' | 'docker';
  /** Why the driver cannot run here, or undefined when it can. */
  readonly unavailable: string | undefined;
}

/** A secret value that must never be seen anywhere but by the upstream it belongs to. */
export const SECRET_VALUE = 'sk-live-egress-suite-4f9a8b7c6d5e';

export interface World {
  readonly airlock: Airlock;
  readonly api: Upstream;
  readonly secure: Upstream;
  readonly tls: Upstream;
  readonly caPem: string;
  readonly asked: (name: string) => number;
  /** A session with the client script in /tmp. */
  session(options?: SessionCreateOptions): Promise<Session>;
  /** Runs the client in the session and parses its JSON line. */
  client(session: Session, args: string): Promise<{ result: RunResult; out: Record<string, unknown> }>;
}

/** CI names the drivers that must run (AIRLOCK_REQUIRE_DRIVERS, as for containment): there a missing one fails. */
function requireAvailable(target: EgressTarget): void {
  const required = (process.env['AIRLOCK_REQUIRE_DRIVERS'] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const reason = target.unavailable;
  if (reason === undefined || !required.includes(target.driver)) return;
  it(`egress: ${target.driver} is available (AIRLOCK_REQUIRE_DRIVERS)`, () => {
    throw new Error(`the ${target.driver} driver must run here but is unavailable: ${reason}`);
  });
}

export function defineEgressSuite(target: EgressTarget): void {
  requireAvailable(target);
  describe.skipIf(target.unavailable !== undefined)(
    `egress from inside ${target.driver} sandboxes${target.unavailable ? ` (skipped: ${target.unavailable})` : ''}`,
    () => {
      let home = '';
      const opened: Array<{ close(): Promise<void> }> = [];
      const state = {} as { world: World };
      /** Sessions of the running test, ended after it: a suite's sandboxes never pile up. */
      const created: Session[] = [];
      afterEach(async () => {
        await Promise.all(created.splice(0).map((session) => session.destroy()));
      }, 60_000);

      beforeAll(async () => {
        home = mkdtempSync(join(tmpdir(), `airlock-egress-${target.driver}-`));
        const [api, ca] = await Promise.all([httpUpstream(), upstreamCa()]);
        const [secure, tls] = await Promise.all([
          ca.https('secure.example.test'),
          ca.https('tls.example.test'),
        ]);
        opened.push(api, secure, tls);
        const resolver = fixedResolver({ 'rebind.example.test': ['127.0.0.1'] });
        const airlock = await createAirlock({
          home,
          env: { EGRESS_SUITE_TOKEN: SECRET_VALUE },
          crossCheck: false,
          egress: { upstreamCa: ca.caPem, resolve: resolver.resolve },
          config: {
            sandbox: {
              driver: target.driver,
              memory: '256m',
              pids: 128,
              timeout: '40s',
              network: {
                mode: 'ask',
                allow: [
                  `api.example.test:${api.port}`,
                  `secure.example.test:${secure.port}`,
                  `tls.example.test:${tls.port}`,
                  `rebind.example.test:${api.port}`,
                ],
                hosts: {
                  'api.example.test': '127.0.0.1',
                  'secure.example.test': '127.0.0.1',
                  'tls.example.test': '127.0.0.1',
                  'other.example.test': '127.0.0.1',
                  'granted.example.test': '127.0.0.1',
                  'late.example.test': '127.0.0.1',
                },
              },
              secrets: [{ name: 'API_TOKEN', fromEnv: 'EGRESS_SUITE_TOKEN', hosts: ['secure.example.test'] }],
            },
            // The sandbox and the proxy are under test here; the policy's view of network commands
            // is tested on its own.
            policy: { preset: 'permissive' },
            router: { approvalRequiredFor: [], approvalWait: '6s', output: { maxChars: 20000 } },
          },
        });
        opened.unshift(airlock);
        state.world = {
          airlock,
          api,
          secure,
          tls,
          caPem: ca.caPem,
          asked: resolver.asked,
          async session(options) {
            const session = await airlock.sessions.create(options);
            created.push(session);
            await session.files.write(CLIENT_PATH, CLIENT_SCRIPT);
            return session;
          },
          async client(session, args) {
            const result = await session.run(`python3 ${CLIENT_PATH} ${args}`);
            const line = result.stdout.trim().split('\n').at(-1) ?? '';
            try {
              return { result, out: JSON.parse(line) as Record<string, unknown> };
            } catch {
              throw new Error(`the client printed no JSON: ${result.forModel}`);
            }
          },
        };
      }, 120_000);

      afterAll(async () => {
        for (const item of opened) await item.close();
        if (home !== '') rmSync(home, { recursive: true, force: true });
      }, 60_000);

      defineReachTests(state);
      defineSecretTests(state);
      defineApprovalTests(state);
    },
  );
}

function defineReachTests(state: { world: World }): void {
  it('reaches an allowed host through the bridge, with the proxy in every variable tools read', async () => {
    const { world } = state;
    const session = await world.session();
    const env = await world.client(session, 'env');
    expect(env.out).toMatchObject({
      HTTP_PROXY: 'http://127.0.0.1:3128',
      https_proxy: 'http://127.0.0.1:3128',
      ALL_PROXY: 'socks5h://127.0.0.1:3128',
      no_proxy: 'localhost,127.0.0.1,::1',
    });
    const before = world.api.seen.length;
    const { out } = await world.client(session, `get http://api.example.test:${world.api.port}/hello`);
    expect(out).toMatchObject({ status: 200 });
    expect(String(out['body'])).toContain(`hello from api.example.test:${world.api.port}`);
    expect(world.api.seen.length).toBe(before + 1);
  });

  it('refuses a host off the list with a reason the model can read, and the result names it', async () => {
    const { world } = state;
    const session = await world.session({
      network: { mode: 'allowlist', allow: [`api.example.test:${world.api.port}`] },
    });
    const { result, out } = await world.client(session, 'get http://evil.example/steal');
    expect(out).toMatchObject({ status: 403, refused: 'not_allowed' });
    expect(String(out['body'])).toContain('airlock: egress to evil.example is not allowed in this session');
    expect(result.refusedHosts).toEqual([
      expect.objectContaining({ host: 'evil.example', port: 80, reason: 'not_allowed', count: 1 }),
    ]);
    expect(result.forModel).toContain('the network refused a host this command tried to reach');
    expect(result.forModel).toContain('egress to evil.example is not allowed');
  });

  it('speaks SOCKS5 to allowed hosts and refuses others (socks5h: the name goes to the proxy)', async () => {
    const { world } = state;
    // The server's list with nobody to ask: a host off it is refused at once.
    const session = await world.session({ network: { mode: 'allowlist' } });
    const allowed = await world.client(session, `socks api.example.test ${world.api.port} /socks`);
    expect(allowed.out).toMatchObject({ socksReply: 0, status: 200 });
    const refused = await world.client(session, 'socks evil.example 22 /');
    // 0x02: connection not allowed by ruleset.
    expect(refused.out).toMatchObject({ socksReply: 2 });
  });

  it('refuses a tunnel whose TLS names another host than its CONNECT (domain fronting)', async () => {
    const { world } = state;
    const session = await world.session();
    await session.files.write('/tmp/upstream-ca.pem', world.caPem);
    const fronted = await world.client(
      session,
      `sni tls.example.test ${world.tls.port} evil.example /tmp/upstream-ca.pem`,
    );
    expect(fronted.out['tls']).toBeUndefined();
    expect(fronted.result.refusedHosts).toContainEqual(
      expect.objectContaining({ host: 'tls.example.test', reason: 'sni_mismatch' }),
    );
    const honest = await world.client(
      session,
      `get --cafile=/tmp/upstream-ca.pem https://tls.example.test:${world.tls.port}/`,
    );
    expect(honest.out).toMatchObject({ status: 200 });
    expect(honest.result.refusedHosts).toEqual([]);
  });

  it('downloads a large file over TLS end to end intact, and the audit event counts every byte', async () => {
    const { world } = state;
    const session = await world.session();
    await session.files.write('/tmp/upstream-ca.pem', world.caPem);
    // Past the proxy's handoff size: the tunnel's bulk is carried by its relay, not by Node.
    const size = 24 * 1024 * 1024;
    const { out } = await world.client(
      session,
      `fetch https://tls.example.test:${world.tls.port}/bytes/${size} --cafile=/tmp/upstream-ca.pem`,
    );
    const served = world.tls.seen.findLast((seen) => seen.url === `/bytes/${size}`);
    expect(out).toMatchObject({ status: 200, size, sha256: served?.sent });
    const events = await waitForEvents(world.airlock, session.id, 1);
    const download = events.find((event) => event.data['host'] === 'tls.example.test');
    expect(Number(download?.data['bytesDown'])).toBeGreaterThan(size);
  });

  it('connects only to the address it checked: a name that resolves to loopback is refused (rebinding)', async () => {
    const { world } = state;
    const session = await world.session();
    const before = world.api.seen.length;
    const askedBefore = world.asked('rebind.example.test');
    const { out, result } = await world.client(session, `get http://rebind.example.test:${world.api.port}/`);
    expect(out).toMatchObject({ status: 403, refused: 'address_forbidden' });
    expect(String(out['body'])).toMatch(/leads to a loopback address/);
    expect(result.refusedHosts).toContainEqual(expect.objectContaining({ reason: 'address_forbidden' }));
    // The loopback server behind it never heard of it, and the name was resolved once, by the proxy.
    expect(world.api.seen.length).toBe(before);
    expect(world.asked('rebind.example.test')).toBe(askedBefore + 1);
  });

  it('has no DNS and no direct path out: only the proxy', async () => {
    const { world } = state;
    const session = await world.session();
    expect((await world.client(session, 'dns api.example.test')).out).toMatchObject({ resolved: null });
    expect((await world.client(session, `direct 127.0.0.1 ${world.api.port}`)).out).toMatchObject({
      connected: false,
    });
  });

  it('gives a session with network: none no bridge and no proxy variables', async () => {
    const { world } = state;
    const session = await world.session({ network: 'none' });
    const env = await world.client(session, 'env');
    expect(env.out['HTTP_PROXY']).toBeNull();
    expect(env.out['API_TOKEN']).toBeNull();
    expect((await world.client(session, 'direct 127.0.0.1 3128')).out).toMatchObject({ connected: false });
    expect((await session.info()).network).toMatchObject({ mode: 'none', allow: [] });
  });

  it('changes a live session list within the server’s, and refuses a wider one', async () => {
    const { world } = state;
    // The server's fixed addresses, an empty list: nothing is reachable until the list changes.
    const session = await world.session({ network: { mode: 'allowlist', allow: [] } });
    const target = `get http://api.example.test:${world.api.port}/live`;
    expect((await world.client(session, target)).out).toMatchObject({ status: 403 });
    const info = await world.airlock.sessions.setNetwork(session.id, {
      mode: 'allowlist',
      allow: [`api.example.test:${world.api.port}`],
      hosts: { 'api.example.test': '127.0.0.1' },
    });
    expect(info.network.allow).toEqual([`api.example.test:${world.api.port}`]);
    expect((await world.client(session, target)).out).toMatchObject({ status: 200 });
    await expect(
      world.airlock.sessions.setNetwork(session.id, { mode: 'allowlist', allow: ['evil.example'] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect((await world.client(session, target)).out).toMatchObject({ status: 200 });
  });

  it('records every connection in the audit log and counts decisions in the metrics', async () => {
    const { world } = state;
    const session = await world.session({ network: { mode: 'allowlist' } });
    const { result } = await world.client(session, 'get http://evil-audit.example/');
    await world.client(session, `get http://api.example.test:${world.api.port}/audited`);
    const events = await waitForEvents(world.airlock, session.id, 2);
    expect(events).toContainEqual(
      expect.objectContaining({
        commandId: result.id,
        data: expect.objectContaining({
          host: 'evil-audit.example',
          port: 80,
          decision: 'refused',
          bytesUp: expect.any(Number),
          bytesDown: expect.any(Number),
          durationMs: expect.any(Number),
        }),
      }),
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        data: expect.objectContaining({ host: 'api.example.test', decision: 'allowed' }),
      }),
    );
    const metrics = await world.airlock.metrics.render();
    expect(metrics).toMatch(
      /airlock_egress_connections_total\{decision="allowed",reason="allowlist"\} [1-9]/,
    );
  });
}

/** The session's egress.connection events, once at least `count` are written (they are batched). */
export async function waitForEvents(airlock: Airlock, sessionId: string, count: number) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const events = await airlock.audit.list({ sessionId, types: ['egress.connection'] });
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
