import type { Command } from 'commander';
import { resolveConfig } from '../config/index.ts';
import { backupStore, resolveStorePath } from '../store/index.ts';
import type { CliContext } from './context.ts';
import { configuredStore } from './store-access.ts';

/** Exit statuses of `airlock store …` (also in their --help). */
export const storeExitCodes = { ok: 0, usage: 2, unavailable: 125 } as const;

export function registerStoreCommand(program: Command, context: CliContext): void {
  const store = program.command('store').description('Look after the store (the SQLite database).');

  store
    .command('backup')
    .description(
      'Write a consistent copy of the store to a new file, while Airlock keeps running and writing.',
    )
    .argument('<file>', 'the backup to create (mode 0600); an existing file is never overwritten')
    .option('--config <path>', 'airlock.yaml naming the store (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `
The store is airlock.yaml's store:, else $AIRLOCK_HOME/airlock.db. Copying the database file with cp
while Airlock runs is not safe (recent commits live in the -wal file); this uses SQLite's online
backup, checks the copy (integrity check, audit events without gaps) and only then gives it its name.
The signing key, the anchors and the witness live outside the store: back up $AIRLOCK_HOME too.
Exit status: ${storeExitCodes.ok} written; ${storeExitCodes.usage} for a bad flag or config, or a file that exists;
${storeExitCodes.unavailable} when the store cannot be read or the copy fails its check.
`,
    )
    .action(async (file: string, flags: { config?: string }) => {
      const resolved = await resolveConfig({
        cwd: context.cwd,
        env: context.env,
        explicitPath: flags.config,
      });
      const location = configuredStore(resolved);
      const report = await backupStore(location, file, { baseDir: context.cwd });
      context.stdout.write(
        `backed up ${resolveStorePath(location, context.cwd)} to ${report.path}: ` +
          `${report.events} audit events, schema version ${report.schemaVersion}, ${formatMiB(report.bytes)}\n`,
      );
      context.setExitCode(storeExitCodes.ok);
    });
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
