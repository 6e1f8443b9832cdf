/**
 * The store stage: the persistence port (`Store`) and its embedded SQLite adapter, with the audit hash
 * chain and its export. Callers depend on `Store`; `openStore` is where the adapter is chosen.
 */
import { isAbsolute, resolve } from 'node:path';
import type { StoreLocation } from '../config/index.ts';
import { MEMORY_PATH } from './sqlite-file.ts';
import { openSqliteStore } from './sqlite-store.ts';
import type { Store } from './types.ts';

export { canonicalJson } from './canonical-json.ts';
export { hashEvent } from './audit-chain.ts';
export { auditEventJson, exportAuditJsonl, formatAuditEvent } from './audit-export.ts';
export type { AuditExportQuery } from './audit-export.ts';
export { MAX_OUTPUT_PAGE_CHARS } from './output-page.ts';
export { DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT } from './sqlite-events.ts';
export { DEFAULT_BUSY_TIMEOUT_MS, openSqliteStore } from './sqlite-store.ts';
export type { SqliteStoreOptions } from './sqlite-store.ts';
export { SCHEMA_VERSION } from './sqlite-schema.ts';
export { auditEventTypes, commandStates } from './types.ts';
export type {
  ApprovalRecord,
  ApprovalStatus,
  AuditEvent,
  AuditEventInput,
  AuditEventType,
  CommandRecord,
  CommandState,
  EventQuery,
  JsonObject,
  JsonValue,
  OutputPage,
  OutputRecord,
  SessionRecord,
  SessionState,
  Store,
  StoreBatch,
  VerifyResult,
} from './types.ts';

export interface OpenStoreOptions {
  /** The directory a relative store path is resolved against (where Airlock runs). */
  readonly baseDir: string;
  readonly now?: () => Date;
}

/** Opens the store a configuration names; the one place that picks an adapter. */
export function openStore(location: StoreLocation, options: OpenStoreOptions): Store {
  const path =
    location.path === MEMORY_PATH || isAbsolute(location.path)
      ? location.path
      : resolve(options.baseDir, location.path);
  return openSqliteStore(options.now === undefined ? { path } : { path, now: options.now });
}
