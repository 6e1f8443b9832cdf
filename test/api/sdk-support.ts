/**
 * A real Airlock HTTP server on 127.0.0.1 for the SDK's end-to-end tests: a real control plane (SQLite
 * in a temporary home, bwrap sandboxes) behind createServer, stopped and removed after each test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { createAirlock } from '../../src/index.ts';
import type { Airlock } from '../../src/index.ts';
import { createServer, loadOrCreateAdminToken } from '../../src/server/index.ts';
import type { AirlockServer } from '../../src/server/index.ts';
import { AirlockClient } from '../../src/sdk/index.ts';

export interface RunningServer {
  readonly url: string;
  readonly adminToken: string;
  readonly airlock: Airlock;
  readonly server: AirlockServer;
  /** A client with the admin token. */
  readonly admin: AirlockClient;
}

const started: Array<{ server: AirlockServer; home: string }> = [];

afterEach(async () => {
  for (const { server, home } of started.splice(0)) {
    await server.close();
    rmSync(home, { recursive: true, force: true });
  }
});

/** `config` is an airlock.yaml in object form. Cross-check off: faster, and judged the same. */
export async function startServer(options: { readonly config?: unknown } = {}): Promise<RunningServer> {
  const home = mkdtempSync(join(tmpdir(), 'airlock-sdk-test-'));
  const airlock = await createAirlock({
    crossCheck: false,
    approvalPollIntervalMs: 50,
    home,
    env: { HOME: home },
    ...(options.config === undefined ? {} : { config: options.config }),
  });
  const adminToken = loadOrCreateAdminToken(home, undefined);
  let server: AirlockServer;
  try {
    server = await createServer({ airlock, adminToken: adminToken.token, adminTokenPath: adminToken.path });
  } catch (error) {
    await airlock.close();
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
  // Closing the server also closes its control plane.
  started.push({ server, home });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    adminToken: adminToken.token,
    airlock,
    server,
    admin: new AirlockClient({ url, token: adminToken.token }),
  };
}

/** Polls until `check` gives a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
