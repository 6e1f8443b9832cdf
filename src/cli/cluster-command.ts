/**
 * `airlock cluster status`: the control planes sharing the configured PostgreSQL store, read from the
 * store itself (so it answers while any node, or none, is up): state, sessions, limit, free memory and
 * the age of the last heartbeat by the database's clock.
 */
import type { Command } from 'commander';
import { createNodeTable } from '../cluster/index.ts';
import type { NodeRow } from '../cluster/index.ts';
import { describeStoreLocation, resolveConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import { escapeForDisplay } from '../shell/index.ts';
import { asPostgresStore, connectStore } from '../store/index.ts';
import type { CliContext } from './context.ts';
import { configuredStore } from './store-access.ts';
import { oneLine } from './terminal.ts';
import { textTable } from './text-table.ts';

/** Exit statuses of `airlock cluster status` (also in its --help). */
export const clusterExitCodes = { ok: 0, usage: 2, unavailable: 125 } as const;

export function registerClusterCommand(program: Command, context: CliContext): void {
  const cluster = program
    .command('cluster')
    .description('Several control planes on one PostgreSQL store (see docs/scaling.md).');
  cluster
    .command('status')
    .description('List the nodes of the cluster: state, sessions, load and last heartbeat.')
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)')
    .option('--json', 'one JSON object with every node')
    .addHelpText(
      'after',
      `
Reads the store named by AIRLOCK_STORE or airlock.yaml's store: (a postgres:// URL). A node is live
while its heartbeats arrive, lost once the others found them stopped (its sessions were ended), left
after a clean stop.
Exit status: ${clusterExitCodes.ok} listed; ${clusterExitCodes.usage} for a bad flag or config, or a store that is not PostgreSQL;
${clusterExitCodes.unavailable} when the store cannot be read.
`,
    )
    .action(async (flags: { config?: string; json?: boolean }) => {
      const resolved = await resolveConfig({
        cwd: context.cwd,
        env: context.env,
        explicitPath: flags.config,
      });
      const location = configuredStore(resolved);
      if (location.kind !== 'postgres') {
        throw new AirlockError(
          'INVALID_CONFIG',
          `the store is ${describeStoreLocation(location)}: a cluster shares a PostgreSQL store (store: postgres://… or AIRLOCK_STORE)`,
          { key: 'store' },
        );
      }
      const store = await connectStore(location, { baseDir: context.cwd });
      try {
        const postgres = asPostgresStore(store);
        if (postgres === null)
          throw new AirlockError('INTERNAL', 'a postgres:// store that is not PostgreSQL');
        const nodes = await createNodeTable(postgres).list();
        context.stdout.write(flags.json === true ? `${JSON.stringify({ nodes })}\n` : formatNodes(nodes));
      } finally {
        await store.close();
      }
      context.setExitCode(clusterExitCodes.ok);
    });
}

/**
 * Text read from the database, for one cell of the table: whoever can write the store (or configure a
 * node) chooses node ids, addresses and loss reasons, and an escape sequence or a newline in one could
 * rewrite or forge lines of what the operator sees.
 */
function cell(text: string): string {
  return oneLine(escapeForDisplay(text));
}

/** One line a node, in columns; sessions are those the store holds active for the node's current run. */
export function formatNodes(nodes: readonly NodeRow[]): string {
  if (nodes.length === 0) return 'no nodes have joined this store yet\n';
  const rows = [
    ['NODE', 'STATE', 'SESSIONS', 'MAX', 'MEM FREE', 'HEARTBEAT', 'URL', 'NOTE'],
    ...nodes.map((node) => [
      cell(node.nodeId),
      cell(node.state),
      String(node.sessions),
      String(node.maxSessions),
      node.memoryTotalBytes > 0
        ? `${Math.round((node.memoryFreeBytes / node.memoryTotalBytes) * 100)}%`
        : '-',
      `${node.heartbeatAgeS.toFixed(1)}s ago`,
      cell(node.advertiseUrl),
      cell(node.lostReason ?? ''),
    ]),
  ];
  return textTable(rows);
}
