/** The control plane's store: where the configuration and environment put it, its audit log protected. */
import type { Logger } from 'pino';
import { storeFromEnvironment, storeLocationFor } from '../config/index.ts';
import type { AirlockConfig, EnvironmentVariables, StoreLocation } from '../config/index.ts';
import type { AirlockMetrics } from '../metrics/index.ts';
import { connectStore, loadOrCreateAuditKey, resolveStorePath } from '../store/index.ts';
import type { AuditSigningKey } from '../store/index.ts';
import { auditKeyPath, protectAuditLog } from './audit-protection.ts';
import type { AuditProtection } from './audit-protection.ts';

/** What of start-up's settled state opening the store reads. */
export interface StoreWiringInput {
  readonly config: AirlockConfig;
  readonly home: string;
  readonly options: { readonly cwd?: string };
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
}

/**
 * The store, wrapped so that the chain's head is signed with a key kept outside it. The key is read
 * (or made) before the store opens: a key file others can read stops start-up here.
 */
export async function openProtectedStore(
  prepared: StoreWiringInput,
  env: EnvironmentVariables,
): Promise<{ audit: AuditProtection; location: StoreLocation; auditKey: AuditSigningKey }> {
  const { config, home, options } = prepared;
  const auditKey = loadOrCreateAuditKey(auditKeyPath(config.audit, home));
  const fromEnvironment = storeFromEnvironment(env);
  const storeLocation = storeLocationFor(config.store, {
    home,
    ...(fromEnvironment === undefined ? {} : { store: fromEnvironment }),
  });
  const baseDir = options.cwd ?? process.cwd();
  const audit = protectAuditLog({
    store: await connectStore(storeLocation, { baseDir }),
    storePath: resolveStorePath(storeLocation, baseDir),
    config: config.audit,
    home,
    key: auditKey,
    logger: prepared.logger,
    metrics: prepared.metrics,
  });
  return { audit, location: storeLocation, auditKey };
}
