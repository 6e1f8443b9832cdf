/**
 * A real Airlock server for tests: real SQLite in a temporary home, real bwrap sandboxes, Fastify
 * listening on 127.0.0.1 on a free port. Closed (every session ended) after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock, CreateAirlockOptions } from '../../src/index.ts';
import { createMcpHttpEndpoint } from '../../src/mcp/index.ts';
import type { McpHttpEndpointOptions } from '../../src/mcp/index.ts';
import { createServer, loadOrCreateAdminToken } from '../../src/server/index.ts';
import type { AirlockServer, ServerOptions } from '../../src/server/index.ts';

export interface TestServer {
  readonly url: string;
  readonly adminToken: string;
  readonly airlock: Airlock;
  readonly server: AirlockServer;
  readonly home: string;
}

const started: Array<{ server: AirlockServer; home: string }> = [];

afterEach(async () => {
  for (const { server, home } of started.splice(0)) {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
});

export async function startTestServer(
  options: {
    airlock?: Omit<CreateAirlockOptions, 'home' | 'env'>;
    server?: Omit<ServerOptions, 'airlock' | 'adminToken' | 'mcp'>;
    /** Mount /mcp as `airlock serve` does (`true`), or with these endpoint options. */
    mcp?: true | Omit<McpHttpEndpointOptions, 'airlock'>;
  } = {},
): Promise<TestServer> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-api-test-'));
  const airlock = await createAirlock({
    crossCheck: false,
    approvalPollIntervalMs: 50,
    ...options.airlock,
    home,
    env: { HOME: home },
  });
  const { token: adminToken, path: adminTokenPath } = loadOrCreateAdminToken(home, undefined);
  let server: AirlockServer;
  try {
    server = await createServer({
      airlock,
      adminToken,
      adminTokenPath,
      ...options.server,
      ...(options.mcp === undefined
        ? {}
        : { mcp: createMcpHttpEndpoint({ airlock, ...(options.mcp === true ? {} : options.mcp) }) }),
    });
  } catch (error) {
    await airlock.close();
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  // Closing the server also closes its control plane.
  started.push({ server, home });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, adminToken, airlock, server, home };
}

/** fetch with a bearer token and JSON in and out. */
export async function call(
  url: string,
  token: string | null,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    body = typeof init.body === 'string' ? init.body : JSON.stringify(init.body);
  }
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (metrics, files): the text itself.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** The stable code of an error response. */
export function errorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } }).error?.code;
}
