/**
 * A real tool through the proxy: curl, with the proxy variables a sandbox gets, reaching the session
 * socket through a loopback bridge like the one the sandbox side will run.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { httpsUpstream, loopbackPolicy, onCleanup, startProxy, tempDirectory } from './support.ts';

const curlMissing = await new Promise<boolean>((resolve) =>
  execFile('curl', ['--version'], (error) => resolve(error !== null)),
);

/** 127.0.0.1:<port> → the session's Unix socket, byte for byte. */
async function bridge(socketPath: string): Promise<number> {
  const server = createServer((client) => {
    const upstream = connect(socketPath);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as AddressInfo).port;
}

function curl(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'curl',
      ['-sS', '--max-time', '20', ...args],
      { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

describe.skipIf(curlMissing)('egress proxy with curl (skipped: curl is not installed)', () => {
  it('curl with the sandbox environment: secret swapped over HTTPS, refusal readable, SOCKS by name', async () => {
    const value = 'curl-secret-value-123456';
    const upstream = await httpsUpstream(['api.example.test']);
    const { proxy } = await startProxy({ upstreamCa: upstream.caPem });
    const session = await proxy.openSession('ses_curl', {
      network: loopbackPolicy('allowlist', [['api.example.test', upstream.port]]),
      secrets: [{ name: 'API_TOKEN', value, hosts: ['api.example.test'] }],
    });
    const port = await bridge(session.socketPath);
    // The sandbox's view: its files at the paths its environment names are the session's files.
    const directory = await tempDirectory();
    const bundle = join(directory, 'bundle.pem');
    await writeFile(bundle, session.ca!.certificatePem);
    const env = {
      ...Object.fromEntries(
        Object.entries(session.env).map(([name, text]) => [
          name,
          text.replace('127.0.0.1:3128', `127.0.0.1:${port}`),
        ]),
      ),
      CURL_CA_BUNDLE: bundle,
      SSL_CERT_FILE: bundle,
    };
    const placeholder = session.env['API_TOKEN']!;

    const ok = await curl(
      ['-H', `Authorization: Bearer ${placeholder}`, `https://api.example.test:${upstream.port}/curl`],
      env,
    );
    expect(ok.stderr).toBe('');
    expect(upstream.seen[0]!.headers['authorization']).toBe(`Bearer ${value}`);
    expect(ok.stdout).not.toContain(value);

    const refused = await curl(['-i', '--proxy-header', 'X-Ignored: 1', `http://evil.example/`], env);
    expect(refused.stdout).toMatch(/^HTTP\/1.1 403 Forbidden/);
    expect(refused.stdout).toContain('airlock: egress to evil.example is not allowed in this session');

    const socks = await curl(
      [
        '--socks5-hostname',
        `127.0.0.1:${port}`,
        '--noproxy',
        '',
        `https://api.example.test:${upstream.port}/socks`,
      ],
      { ...env, HTTPS_PROXY: '', https_proxy: '' },
    );
    expect(socks.stderr).toBe('');
    expect(upstream.seen.map((echo) => echo.url)).toEqual(['/curl', '/socks']);
  });
});
