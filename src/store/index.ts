/**
 * The store stage: the persistence port (`Store`) and its embedded SQLite adapter, with the audit hash
 * chain, its export, and what protects it from outside the database: signed checkpoints (a key that is
 * not in the store), an anchor file and a witness file. Callers depend on `Store`; `openStore` is where
 * the adapter is chosen.
 */
import { isAbsolute, resolve } from 'node:path';
import type { StoreLocation } from '../config/index.ts';
import { MEMORY_PATH } from './sqlite-file.ts';
import { backupSqliteStore } from './sqlite-backup.ts';
import type { StoreBackupReport } from './sqlite-backup.ts';
import { openSqliteStore } from './sqlite-store.ts';
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
export { auditEventTypes, commandStates, grantScopes, verifyProblems } from './types.ts';
export type {
  ApprovalGrant,
  ApprovalRecord,
  ApprovalStatus,
  AuditCheckpoint,
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  CheckpointSummary,
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
 * Where a configured store is: the path a relative location means from `baseDir`, or ':memory:'. Also
 * what names a store's anchor file (audit-anchor.ts), so every process finds the same one.
 */
export function resolveStorePath(location: StoreLocation, baseDir: string): string {
  return location.path === MEMORY_PATH || isAbsolute(location.path)
    ? location.path
    : resolve(baseDir, location.path);
}

/** Whether the store lives only inside the process that opened it (nothing outside can anchor it). */
export function isMemoryStore(path: string): boolean {
  return path === MEMORY_PATH;
}

/** Opens the store a configuration names; the one place that picks an adapter. */
export function openStore(location: StoreLocation, options: OpenStoreOptions): Store {
  const path = resolveStorePath(location, options.baseDir);
  return openSqliteStore(options.now === undefined ? { path } : { path, now: options.now });
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
  return backupSqliteStore(resolveStorePath(location, options.baseDir), resolve(options.baseDir, targetPath));
}
