/**
 * The store stage: the persistence port (`Store`) and its two adapters, embedded SQLite (the default)
 * and PostgreSQL (several control planes on one database), with the audit hash chain, its export, and
 * what protects it from outside the database: signed checkpoints (a key that is not in the store), an
 * anchor file and a witness file. Callers depend on `Store`; `connectStore` is where the adapter is
 * chosen.
 */
import { isAbsolute, resolve } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { redactStoreUrl } from '../config/index.ts';
import type { StoreLocation } from '../config/index.ts';
import { openPostgresStore } from './pg-store.ts';
import { MEMORY_PATH } from './sqlite-file.ts';
import { backupSqliteStore } from './sqlite-backup.ts';
import type { StoreBackupReport } from './sqlite-backup.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { PostgresStore } from './pg-store.ts';
import type { Store } from './types.ts';

export { canonicalJson } from './canonical-json.ts';
export { hashEvent } from './audit-chain.ts';
export { auditAnchorPath } from './audit-anchor.ts';
export { auditKeyId, checkpointSignedBy, signCheckpoint } from './audit-checkpoint.ts';
export type { AuditPublicKey, AuditSigningKey } from './audit-checkpoint.ts';
export { createCheckpointer } from './audit-checkpointer.ts';
export type {
  Checkpointer,
  CheckpointerEvent,
  CheckpointerOptions,
  CheckpointOutcome,
} from './audit-checkpointer.ts';
export {
  AUDIT_KEY_FILE,
  formatAuditPublicKey,
  loadOrCreateAuditKey,
  readAuditPublicKey,
  readAuditSigningKey,
} from './audit-key.ts';
export { withAuditTrail } from './audit-trail.ts';
export type { AuditTrailOptions } from './audit-trail.ts';
export { verifyAudit } from './audit-verify.ts';
export type { AnchorSummary, AuditReport, AuditVerifyOptions } from './audit-verify.ts';
export { createWitnessSink } from './audit-witness.ts';
export type { WitnessEvent, WitnessSink, WitnessSinkOptions } from './audit-witness.ts';
export { compareWitness } from './audit-witness-check.ts';
export type { EventPager, WitnessComparison, WitnessSummary } from './audit-witness-check.ts';
export { auditEventJson, exportAuditJsonl, formatAuditEvent } from './audit-export.ts';
export type { AuditExportQuery } from './audit-export.ts';
export { MAX_OUTPUT_PAGE_CHARS } from './output-page.ts';
export { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from './sqlite-events.ts';
export { DEFAULT_BUSY_TIMEOUT_MS, openSqliteStore } from './sqlite-store.ts';
export type { SqliteStoreOptions } from './sqlite-store.ts';
export type { StoreBackupReport } from './sqlite-backup.ts';
export { SCHEMA_VERSION } from './sqlite-schema.ts';
export { APPROVAL_CHANNEL, openPostgresStore } from './pg-store.ts';
export { migrateSqliteToPostgres } from './store-migrate.ts';
export type { MigrateOptions, MigrateReport } from './store-migrate.ts';
export type { PostgresStore, PostgresStoreOptions } from './pg-store.ts';
export { PG_SCHEMA_VERSION } from './pg-schema.ts';
export { accessTokenRoles, auditEventTypes, commandStates, grantScopes, verifyProblems } from './types.ts';
export { DEFAULT_COMMAND_PAGE, MAX_COMMAND_PAGE, MAX_COMMAND_SEARCH_CHARS } from './sqlite-command-query.ts';
export type {
  AccessTokenRecord,
  AccessTokenRole,
  ApprovalGrant,
  ApprovalRecord,
  ApprovalStatus,
  AuditCheckpoint,
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  CheckpointSummary,
  CommandQuery,
  CommandRecord,
  CommandState,
  EventQuery,
  GrantScope,
  JsonObject,
  JsonValue,
  OutputPage,
  OutputRecord,
  SessionRecord,
  SessionState,
  Store,
  StoreBatch,
  VerifyFailure,
  VerifyOptions,
  VerifyProblem,
  VerifyResult,
} from './types.ts';

export interface OpenStoreOptions {
  /** The directory a relative store path is resolved against (where Airlock runs). */
  readonly baseDir: string;
  readonly now?: () => Date;
}

/**
 * Where a configured store is: the path a relative location means from `baseDir`, ':memory:', or a
 * PostgreSQL URL without its password. Also what names a store's anchor file (audit-anchor.ts), so every
 * process finds the same one.
 */
export function resolveStorePath(location: StoreLocation, baseDir: string): string {
  if (location.kind === 'postgres') return redactStoreUrl(location.url);
  return location.path === MEMORY_PATH || isAbsolute(location.path)
    ? location.path
    : resolve(baseDir, location.path);
}

/** Whether the store lives only inside the process that opened it (nothing outside can anchor it). */
export function isMemoryStore(path: string): boolean {
  return path === MEMORY_PATH;
}

/**
 * Opens an SQLite store synchronously (tests and tools that only ever use the embedded store).
 * `connectStore` is the one place that picks an adapter for a configured location.
 */
export function openStore(
  location: Extract<StoreLocation, { kind: 'sqlite' }>,
  options: OpenStoreOptions,
): Store {
  const path = resolveStorePath(location, options.baseDir);
  return openSqliteStore(options.now === undefined ? { path } : { path, now: options.now });
}

/** Opens the store a configuration names, SQLite or PostgreSQL (migrated to this Airlock's schema). */
export async function connectStore(location: StoreLocation, options: OpenStoreOptions): Promise<Store> {
  if (location.kind === 'sqlite') return openStore(location, options);
  return openPostgresStore(
    options.now === undefined ? { url: location.url } : { url: location.url, now: options.now },
  );
}

/** The PostgreSQL store behind a `Store`, or null for SQLite (a cluster needs the former). */
export function asPostgresStore(store: Store): PostgresStore | null {
  const candidate = store as Partial<PostgresStore>;
  return candidate.kind === 'postgres' && typeof candidate.transaction === 'function'
    ? (candidate as PostgresStore)
    : null;
}

/**
 * Writes a consistent copy of a configured store to a new file while the store stays in use (see
 * sqlite-backup.ts). `targetPath` is resolved against `baseDir` like a relative store path.
 */
export function backupStore(
  location: StoreLocation,
  targetPath: string,
  options: OpenStoreOptions,
): Promise<StoreBackupReport> {
  if (location.kind === 'postgres') {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `airlock store backup copies an SQLite store; back up ${redactStoreUrl(location.url)} with PostgreSQL's own tools (pg_dump, or continuous archiving)`,
      { field: 'store' },
    );
  }
  return backupSqliteStore(resolveStorePath(location, options.baseDir), resolve(options.baseDir, targetPath));
}
