/**
 * Wires the audit log's protections outside the database from the configuration: the signing key,
 * the checkpointer, the anchor and the witness, around the opened store. What each does and why lives
 * in the store stage; this file only chooses paths and turns their reports into logs and metrics.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AuditConfig } from '../config/index.ts';
import type { AirlockMetrics } from '../metrics/index.ts';
import {
  AUDIT_KEY_FILE,
  auditAnchorPath,
  createCheckpointer,
  createWitnessSink,
  isMemoryStore,
  verifyAudit,
  withAuditTrail,
} from '../store/index.ts';
import type {
  AuditPublicKey,
  AuditReport,
  AuditSigningKey,
  CheckpointerEvent,
  Store,
  WitnessEvent,
} from '../store/index.ts';

/** The signing key's file: `audit.keyFile`, else AIRLOCK_HOME/audit-key. */
export function auditKeyPath(config: AuditConfig, home: string): string {
  return config.keyFile ?? join(home, AUDIT_KEY_FILE);
}

/** This machine's anchor for a store, or null for a store that lives only in this process. */
export function anchorPathFor(home: string, storePath: string): string | null {
  return isMemoryStore(storePath) ? null : auditAnchorPath(home, storePath);
}

export interface AuditProtectionOptions {
  /** The store as opened; the result wraps it. */
  readonly store: Store;
  /** The store's resolved location (what names its anchor). */
  readonly storePath: string;
  readonly config: AuditConfig;
  readonly home: string;
  readonly key: AuditSigningKey;
  readonly logger: Logger;
  readonly metrics: AirlockMetrics;
}

export interface AuditProtection {
  /** The store to use from now on: commits also feed the checkpointer and the witness. */
  readonly store: Store;
  /**
   * The whole check: chain, checkpoints signed by this key (or `otherKeys`: the other nodes' of a
   * cluster), the anchor and the configured witness.
   */
  verify(otherKeys?: readonly AuditPublicKey[]): Promise<AuditReport>;
}

export function protectAuditLog(options: AuditProtectionOptions): AuditProtection {
  const { store, config, key, logger, metrics } = options;
  const anchorPath = anchorPathFor(options.home, options.storePath);
  const checkpointer = createCheckpointer({
    store,
    key,
    everyEvents: config.checkpointEvery,
    anchorPath,
    onEvent: (event) => reportCheckpoint(event, logger, metrics),
  });
  const witness =
    config.witness === null
      ? null
      : createWitnessSink({
          path: config.witness.file,
          store,
          onEvent: (event) => reportWitness(event, config.witness?.file ?? '', logger, metrics),
        });
  const trail = withAuditTrail(store, { checkpointer, witness, intervalMs: config.checkpointIntervalMs });
  // A first start on a store with events signs them (after re-verifying) and fills the witness now,
  // rather than at the first commit or tick.
  void checkpointer.checkpoint();
  witness?.catchUp();
  return {
    store: trail,
    verify: (otherKeys = []) =>
      verifyAudit(store, {
        trustedKeys: [key, ...otherKeys],
        ...(anchorPath === null ? {} : { anchorPath }),
        ...(config.witness === null ? {} : { witnessPath: config.witness.file }),
      }),
  };
}

function reportCheckpoint(event: CheckpointerEvent, logger: Logger, metrics: AirlockMetrics): void {
  switch (event.status) {
    case 'signed':
      metrics.auditCheckpoint('signed');
      logger.debug({ seq: event.checkpoint.seq }, 'audit checkpoint signed');
      return;
    case 'nothing-new':
      metrics.auditCheckpoint('nothing_new');
      return;
    case 'refused':
      metrics.auditCheckpoint('refused');
      logger.error(
        { seq: event.seq },
        `audit checkpoint refused, nothing is signed until this is looked into: ${event.message}`,
      );
      return;
    case 'failed':
      metrics.auditCheckpoint('failed');
      logger.error({ err: event.error }, 'audit checkpoint failed; the next one tries again');
      return;
  }
}

function reportWitness(event: WitnessEvent, path: string, logger: Logger, metrics: AirlockMetrics): void {
  switch (event.status) {
    case 'failed':
      metrics.auditWitnessFailure();
      logger.error(
        { err: event.error, witness: path, retryInMs: event.retryInMs },
        'audit witness write failed; the store keeps every event and the witness catches up when it can',
      );
      return;
    case 'recovered':
      logger.warn({ witness: path, lastSeq: event.lastSeq }, 'audit witness writable again, caught up');
      return;
    case 'refused':
      metrics.auditWitnessFailure();
      logger.error({ witness: path }, `audit witness stopped: ${event.message}`);
      return;
  }
}
