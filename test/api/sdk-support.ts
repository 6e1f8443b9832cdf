/**
 * A real Airlock HTTP server on 127.0.0.1 for the SDK's end-to-end tests: a real control plane (SQLite
 * in a temporary home, bwrap sandboxes) behind createServer, stopped and removed after each test.
 */
import type { Airlock } from '../../src/index.ts';
import type { AirlockServer } from '../../src/server/index.ts';
import { AirlockClient } from '../../src/sdk/index.ts';
import { startTestServer } from './support.ts';

export interface RunningServer {
  readonly url: string;
  readonly adminToken: string;
  readonly airlock: Airlock;
  readonly server: AirlockServer;
  /** A client with the admin token. */
  readonly admin: AirlockClient;
}

/** `config` is an airlock.yaml in object form. Closed and removed after the test (see support.ts). */
export async function startServer(options: { readonly config?: unknown } = {}): Promise<RunningServer> {
  const { url, adminToken, airlock, server } = await startTestServer(
    options.config === undefined ? {} : { airlock: { config: options.config } },
  );
  return { url, adminToken, airlock, server, admin: new AirlockClient({ url, token: adminToken }) };
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
