import { readAuditAnchor } from './audit-anchor.ts';
import { createCheckpointChecker, type AuditPublicKey } from './audit-checkpoint.ts';
import { compareWitness, type WitnessSummary } from './audit-witness-check.ts';
import type { Store, VerifyFailure, VerifyResult } from './types.ts';

/**
 * Everything `airlock audit verify` checks, over the `Store` port: the store's own walk (hash chain,
 * stored head, stored checkpoints and their signatures), then this machine's anchor (the newest
 * checkpoint it signed, kept outside the store), then the witness file. The first problem is the
 * answer; on success the report says how far each protection reaches.
 */

export interface AuditVerifyOptions {
  /** Keys whose signatures count; none means signatures go unchecked (and the report says so). */
  readonly trustedKeys?: readonly AuditPublicKey[];
  /** This machine's anchor for the store (audit-anchor.ts); absent or a missing file: no anchor check. */
  readonly anchorPath?: string;
  /** A witness file to compare the store with (audit-witness.ts). */
  readonly witnessPath?: string;
}

export interface AnchorSummary {
  readonly path: string;
  /** The seq the anchor names, which the chain was found to reach with the signed hash. */
  readonly seq: number;
}

export type AuditReport =
  | (Extract<VerifyResult, { ok: true }> & {
      readonly anchor: AnchorSummary | null;
      readonly witness: WitnessSummary | null;
    })
  | VerifyFailure;

export async function verifyAudit(store: Store, options: AuditVerifyOptions = {}): Promise<AuditReport> {
  const trustedKeys = options.trustedKeys ?? [];
  const chain = await store.verify({ trustedKeys });
  if (!chain.ok) return chain;
  // Events run 1, 2, 3… without gaps, so the number verified is the newest seq.
  const lastSeq = chain.checked;

  let anchor: AnchorSummary | null = null;
  if (options.anchorPath !== undefined) {
    const read = readAuditAnchor(options.anchorPath);
    if (read.status === 'unreadable') {
      return {
        ok: false,
        checked: chain.checked,
        seq: 0,
        problem: 'checkpoint-mismatch',
        message: read.message,
      };
    }
    if (read.status === 'found') {
      const { checkpoint } = read;
      const [event] = await store.listEvents({ afterSeq: checkpoint.seq - 1, limit: 1 });
      // An anchor newer than the walk is possible only if events arrived after it: they are in the store.
      const reached = event?.seq === checkpoint.seq ? event.hash : undefined;
      const checker = createCheckpointChecker(trustedKeys, () => chain.checked);
      const failure = checker.check(checkpoint, reached, `the anchor ${options.anchorPath}`);
      if (failure !== undefined) return failure;
      anchor = { path: options.anchorPath, seq: checkpoint.seq };
    }
  }

  let witness: WitnessSummary | null = null;
  if (options.witnessPath !== undefined) {
    const compared = await compareWitness(
      options.witnessPath,
      (afterSeq, limit) => store.listEvents({ afterSeq, limit }),
      lastSeq,
    );
    if (!compared.ok) return compared;
    witness = compared.summary;
  }
  return { ...chain, anchor, witness };
}
