/**
 * The variables a sandboxed command gets so that its tools use the proxy: the proxy address in every
 * spelling tools read, the session CA where TLS libraries look for trust, and each secret's placeholder
 * under the secret's name.
 */
import { getCACertificates } from 'node:tls';

export interface SandboxEndpoint {
  /** Where the proxy appears inside the sandbox (the bridge listens there). */
  readonly host: string;
  readonly port: number;
}

export const DEFAULT_SANDBOX_ENDPOINT: SandboxEndpoint = Object.freeze({ host: '127.0.0.1', port: 3128 });

/** Paths inside the sandbox where the bridge puts the session CA and the bundle that includes it. */
export interface SandboxCaPaths {
  readonly certificate: string;
  readonly bundle: string;
}

/** Where the sandbox drivers mount a session's CA files (the sandbox stage's egress-mount.ts). */
export const DEFAULT_SANDBOX_CA_PATHS: SandboxCaPaths = Object.freeze({
  certificate: '/.airlock/egress-ca.pem',
  bundle: '/.airlock/egress-ca-bundle.pem',
});

export function proxyEnvironment(
  endpoint: SandboxEndpoint,
  ca: SandboxCaPaths | undefined,
  placeholders: ReadonlyArray<{ readonly name: string; readonly placeholder: string }>,
): Readonly<Record<string, string>> {
  const http = `http://${endpoint.host}:${endpoint.port}`;
  const env: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const secret of placeholders) env[secret.name] = secret.placeholder;
  const proxy: Record<string, string> = {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    // socks5h: the name goes to the proxy unresolved; there is no DNS inside the sandbox.
    ALL_PROXY: `socks5h://${endpoint.host}:${endpoint.port}`,
    // Servers the command starts inside its own sandbox are reached directly.
    NO_PROXY: 'localhost,127.0.0.1,::1',
  };
  for (const [name, value] of Object.entries(proxy)) {
    env[name] = value;
    env[name.toLowerCase()] = value;
  }
  if (ca !== undefined) {
    // OpenSSL (curl, git, Python's ssl), requests/pip and curl replace their roots with these files,
    // so they point at the bundle (the usual roots plus the session CA); Node adds to its roots.
    env['SSL_CERT_FILE'] = ca.bundle;
    env['REQUESTS_CA_BUNDLE'] = ca.bundle;
    env['CURL_CA_BUNDLE'] = ca.bundle;
    env['NODE_EXTRA_CA_CERTS'] = ca.certificate;
  }
  return Object.freeze(env);
}

/** The roots Node trusts (its bundled ones and the system store), plus the session CA. */
export function caBundle(sessionCaPem: string): string {
  const roots = new Set([...getCACertificates('default'), ...getCACertificates('system')]);
  return [sessionCaPem.trim(), ...roots].map((pem) => pem.trim()).join('\n') + '\n';
}
