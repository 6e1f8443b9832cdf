import type { Command } from 'commander';
import pino from 'pino';
import { describeStoreLocation, parseCount, resolveConfig, storeLocationFor } from '../config/index.ts';
import { createMetrics } from '../metrics/index.ts';
import { AirlockError } from '../errors/index.ts';
import { createMcpHttpEndpoint } from '../mcp/index.ts';
import { createServer, loadOrCreateAdminToken } from '../server/index.ts';
import type { CliContext } from './context.ts';
import { isLoopbackHost } from './loopback.ts';
import { createConfiguredAirlock } from './configured-airlock.ts';

/** Signals closer together than this are one Ctrl-C delivered twice, not a second press. */
const DOUBLE_SIGNAL_WINDOW_MS = 500;

interface ServeFlags {
  port?: string;
  host?: string;
  config?: string;
  policy?: string;
  verbose?: boolean;
}

export function registerServeCommand(program: Command, context: CliContext): void {
  program
    .command('serve')
    .description('Start the HTTP API (and MCP over HTTP at /mcp) for agents, on 127.0.0.1.')
    .option('--port <port>', 'TCP port (default: server.port of airlock.yaml, else 7400; 0 picks a free one)')
    .option(
      '--host <host>',
      'address to bind (default 127.0.0.1; anything else is reachable from the network)',
    )
    .option('--config <path>', 'airlock.yaml to use (default: ./airlock.yaml if present)')
    .option('--policy <policy>', 'preset (readonly, coding-agent, permissive) or a YAML policy file')
    .option('--verbose', 'log every session and command (JSON lines on stderr)')
    .addHelpText(
      'after',
      `
The admin token is generated on first start and kept in $AIRLOCK_HOME/admin-token (mode 0600);
AIRLOCK_TOKEN sets it instead. Creating a session returns a token scoped to that session only.
Ctrl-C (or SIGTERM) stops gracefully: running commands are killed and recorded, every sandbox is
destroyed and the store is closed; a second Ctrl-C stops at once.

Exit status: 0 after a clean stop; 1 when the shutdown failed; 2 for a bad flag, config or a port
that cannot be used; 125 when the sandbox or store cannot be set up; 130 on a second Ctrl-C.
`,
    )
    .action(async (flags: ServeFlags) => {
      context.setExitCode(await runServe(flags, context));
    });
}

async function runServe(flags: ServeFlags, context: CliContext): Promise<number> {
  const { stdout, stderr } = context;
  const resolved = await resolveConfig({ cwd: context.cwd, env: context.env, explicitPath: flags.config });
  const { config, environment } = resolved;
  const host = flags.host ?? config.server.host;
  const port =
    flags.port === undefined
      ? config.server.port
      : flags.port.trim() === '0'
        ? 0
        : parseCount(flags.port, { label: '--port', max: 65_535 });
  const adminToken = loadOrCreateAdminToken(environment.home, environment.adminToken);
  const logger = pino({ level: flags.verbose ? 'info' : 'warn' }, pino.destination(2));
  const airlock = await createConfiguredAirlock(resolved, flags.policy, context, {
    logger,
    // The one control plane of this process: its heap, event loop and GC are worth scraping too.
    metrics: createMetrics({ processMetrics: true }),
  });
  const server = await createServer({
    airlock,
    adminToken: adminToken.token,
    adminTokenPath: adminToken.path,
    logger,
    mcp: createMcpHttpEndpoint({
      airlock,
      logger,
      disconnectGraceMs: resolved.config.server.mcpDisconnectGraceMs,
    }),
  });

  let url: string;
  try {
    url = await server.listen({ host, port });
  } catch (error) {
    await server.close();
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use (another airlock serve?); pick another with --port' : code === 'EACCES' ? 'permission denied; use a port above 1023' : 'no such local address; check --host'}`,
        { host, port },
      );
    }
    throw error;
  }
  if (!isLoopbackHost(host)) {
    stderr.warn(
      `listening on ${host}: the API is reachable from the network; anyone with a token can run code in sandboxes here`,
    );
  }
  // Listening for Ctrl-C before the banner: a user (or script) may act on the banner at once.
  let failed = false;
  const stopped = new Promise<void>((resolveStopped) => {
    let stoppingSinceMs: number | null = null;
    const remove = context.onInterrupt((reason) => {
      if (reason !== 'signal') return;
      if (stoppingSinceMs !== null) {
        // One Ctrl-C can arrive twice (the terminal signals the whole process group, and a wrapper
        // such as bin/airlock.js passes its own copy on): only a later press means "now".
        if (Date.now() - stoppingSinceMs < DOUBLE_SIGNAL_WINDOW_MS) return;
        // Sandboxes die with this process and leftovers are swept at the next start, so leaving now
        // loses no isolation, only the clean record of how the last commands ended.
        stderr.warn('stopping at once: commands still running are recorded as interrupted at the next start');
        context.exitNow(130);
        return;
      }
      stoppingSinceMs = Date.now();
      stderr.write(
        'airlock: stopping: ending sessions and closing the store (Ctrl-C again to stop at once)\n',
      );
      void server
        .close()
        .catch((error: unknown) => {
          failed = true;
          stderr.error(`shutdown failed: ${error instanceof Error ? error.message : String(error)}`);
        })
        .finally(() => {
          remove();
          resolveStopped();
        });
    });
  });
  stdout.write(
    `Airlock listening on ${url}\n` +
      `  admin token: ${adminToken.path ?? 'from AIRLOCK_TOKEN'}  (send it as Authorization: Bearer <token>)\n` +
      `  MCP:         ${url}/mcp\n` +
      `  API:         ${url}/v1/openapi.json\n` +
      `  store:       ${describeStoreLocation(storeLocationFor(config.store, environment))}\n` +
      'Press Ctrl-C to stop.\n',
  );

  await stopped;
  if (!failed) stderr.write('airlock: stopped: every session ended, the store closed\n');
  return failed ? 1 : 0;
}
