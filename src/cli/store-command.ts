import type { Command } from 'commander';
import { auditKeyPath } from '../airlock/index.ts';
import { describeStoreLocation, parseStoreLocation, resolveConfig } from '../config/index.ts';
import { AirlockError } from '../errors/index.ts';
import {
  backupStore,
  migrateSqliteToPostgres,
  readAuditSigningKey,
  resolveStorePath,
} from '../store/index.ts';
import type { CliContext } from './context.ts';
import { configuredStore } from './store-access.ts';

/** Exit statuses of `airlock store …` (also in their --help). */
export const storeExitCodes = { ok: 0, usage: 2, unavailable: 125 } as const;

export function registerStoreCommand(program: Command, context: CliContext): void {
  const store = program.command('store').description('Look after the store (SQLite or PostgreSQL).');

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
  registerMigrate(store, context);
}

interface MigrateFlags {
  from: string;
  to: string;
  config?: string;
}

function registerMigrate(store: Command, context: CliContext): void {
  store
    .command('migrate')
    .description('Move a single control plane’s history from its SQLite store into an empty PostgreSQL one.')
    .requiredOption(
      '--from <store>',
      'the SQLite store, as sqlite:PATH (stop the airlock serve using it first)',
    )
    .requiredOption(
      '--to <store>',
      'the PostgreSQL store, as postgres://user@host/db (empty; its schema is made)',
    )
    .option('--config <path>', 'airlock.yaml naming the audit key file (default: ./airlock.yaml if present)')
    .addHelpText(
      'after',
      `
Sessions, commands, approvals, outputs, people's access tokens and the audit log are copied row for
row in one transaction:
the events keep their seq, times and hashes, the signed checkpoints come along, and the copy is
verified in PostgreSQL (with this machine's audit key) before the command reports success. The source
is only read. Refused: a source whose audit log does not verify, one with open sessions, a target that
already holds history. Then point airlock.yaml's store: (or AIRLOCK_STORE) at the new store.
Exit status: ${storeExitCodes.ok} copied and verified; ${storeExitCodes.usage} for a bad flag or config, or a refused source or target;
${storeExitCodes.unavailable} when a store cannot be reached or the copy does not verify (nothing is kept).
`,
    )
    .action(async (flags: MigrateFlags) => {
      const resolved = await resolveConfig({
        cwd: context.cwd,
        env: context.env,
        explicitPath: flags.config,
      });
      const from = parseStoreLocation(flags.from);
      if (typeof from === 'string' || from.kind !== 'sqlite') {
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `--from must be an SQLite store, like sqlite:/var/lib/airlock/airlock.db`,
          {
            field: '--from',
          },
        );
      }
      const to = parseStoreLocation(flags.to);
      if (typeof to === 'string' || to.kind !== 'postgres') {
        throw new AirlockError(
          'INVALID_ARGUMENT',
          `--to must be a PostgreSQL store, like postgres://airlock@db.example/airlock`,
          {
            field: '--to',
          },
        );
      }
      const key = readAuditSigningKey(auditKeyPath(resolved.config.audit, resolved.environment.home));
      const report = await migrateSqliteToPostgres({
        from: resolveStorePath(from, context.cwd),
        to: to.url,
        trustedKeys: key === null ? [] : [key],
      });
      const { rows, checkpoints } = report;
      context.stdout.write(
        `copied ${rows.sessions} sessions, ${rows.commands} commands, ${rows.approvals} approvals, ${rows.outputs} outputs, ` +
          `${rows.access_tokens} access tokens, ` +
          `${rows.events} audit events and ${rows.audit_checkpoints} checkpoints to ${describeStoreLocation(to)}\n` +
          `verified there: ${report.events} events, head ${report.lastHash || '(none)'}, ` +
          (checkpoints.signaturesChecked
            ? `${checkpoints.verified} checkpoint(s) signed by this machine's key verified\n`
            : 'signatures NOT checked (no audit key on this machine)\n'),
      );
      context.setExitCode(storeExitCodes.ok);
    });
}

function formatMiB(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
