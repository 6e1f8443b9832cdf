import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import type { ChainHead } from './audit-chain.ts';
import { canonicalJson } from './canonical-json.ts';
import type { AuditCheckpoint, CheckpointSummary, VerifyFailure } from './types.ts';

/**
 * Signed checkpoints of the audit chain, independent of any database. A checkpoint is an Ed25519
 * signature over one chain head (a seq and that event's hash): since every hash covers the one before
 * it, the signature vouches for every event up to that seq. The key lives outside the store, so someone
 * who can write the database but not read the key can no longer rebuild the chain unnoticed: the
 * rebuilt hashes differ from the signed ones, and deleting events leaves a signed head the chain no
 * longer reaches.
 */

export interface AuditPublicKey {
  /** sha256 hex of the raw 32-byte Ed25519 public key: what checkpoints name their signer by. */
  readonly keyId: string;
  readonly publicKey: KeyObject;
}

export interface AuditSigningKey extends AuditPublicKey {
  readonly privateKey: KeyObject;
}

/**
 * Prefixed to the signed bytes so that a signature made for a checkpoint can never be presented as a
 * signature over anything else the same key might sign, and a later format cannot be confused with it.
 */
const CHECKPOINT_DOMAIN = 'airlock.audit.checkpoint.v1';

/** Most signer keys a summary lists: rows are untrusted input, and a list of every key seen is not bounded. */
const MAX_LISTED_KEYS = 16;

/** The fingerprint of an Ed25519 public key; refuses any other kind of key. */
export function auditKeyId(publicKey: KeyObject): string {
  if (publicKey.type !== 'public' || publicKey.asymmetricKeyType !== 'ed25519') {
    throw new TypeError(
      `an audit key must be an Ed25519 public key, not ${String(publicKey.asymmetricKeyType)}`,
    );
  }
  const raw = Buffer.from(String(publicKey.export({ format: 'jwk' }).x), 'base64url');
  return createHash('sha256').update(raw).digest('hex');
}

/** The exact bytes signed for a checkpoint: every field but the signature, in canonical JSON. */
export function checkpointMessage(fields: Omit<AuditCheckpoint, 'signature'>): Buffer {
  const body = canonicalJson({ seq: fields.seq, hash: fields.hash, at: fields.at, keyId: fields.keyId });
  return Buffer.from(`${CHECKPOINT_DOMAIN}\n${body}`, 'utf8');
}

export function signCheckpoint(head: ChainHead, at: string, key: AuditSigningKey): AuditCheckpoint {
  const fields = { seq: head.seq, hash: head.hash, at, keyId: key.keyId };
  return { ...fields, signature: sign(null, checkpointMessage(fields), key.privateKey).toString('base64') };
}

/** Whether the checkpoint was signed by this key and not altered since; never throws on bad input. */
export function checkpointSignedBy(checkpoint: AuditCheckpoint, key: AuditPublicKey): boolean {
  if (checkpoint.keyId !== key.keyId) return false;
  try {
    return verify(
      null,
      checkpointMessage(checkpoint),
      key.publicKey,
      Buffer.from(checkpoint.signature, 'base64'),
    );
  } catch {
    // A signature of the wrong length, a seq that is not a number: stored rows are untrusted input.
    return false;
  }
}

export interface CheckpointChecker {
  /**
   * Checks a checkpoint against the chain: `eventHash` is the hash of the event at the checkpoint's seq
   * as the chain walk found it, or undefined when the chain does not reach that seq.
   */
  check(
    checkpoint: AuditCheckpoint,
    eventHash: string | undefined,
    label?: string,
  ): VerifyFailure | undefined;
  /** The summary once the walk is over; `lastChainSeq` is the newest event the chain verified. */
  summary(lastChainSeq: number): CheckpointSummary;
}

/**
 * Checks every checkpoint a verify walk meets. With trusted keys, a checkpoint is good only when one of
 * them signed it; without any (no key at hand), signatures go unchecked and only the heads are compared,
 * which the summary says. `checked` is the number of events the chain walk verified before the problem.
 */
export function createCheckpointChecker(
  trustedKeys: readonly AuditPublicKey[] | undefined,
  checked: () => number,
): CheckpointChecker {
  const trusted = new Map((trustedKeys ?? []).map((key) => [key.keyId, key]));
  const signaturesChecked = trusted.size > 0;
  let verified = 0;
  let lastSeq = 0;
  const keyIds = new Set<string>();
  const fail = (seq: number, problem: VerifyFailure['problem'], message: string): VerifyFailure => ({
    ok: false,
    checked: checked(),
    seq,
    problem,
    message,
  });
  return {
    check(checkpoint, eventHash, label = 'checkpoint') {
      const what = `${label} at seq ${checkpoint.seq} (signed ${describeTime(checkpoint.at)} by key ${shortKey(checkpoint.keyId)})`;
      if (signaturesChecked) {
        const key = trusted.get(checkpoint.keyId);
        if (key === undefined) {
          return fail(
            checkpoint.seq,
            'untrusted-key',
            `${what}: signed by a key this verify does not trust (forged, or signed by an earlier key: pass its public key too)`,
          );
        }
        if (!checkpointSignedBy(checkpoint, key)) {
          return fail(
            checkpoint.seq,
            'bad-signature',
            `${what}: its signature does not verify (forged or edited)`,
          );
        }
      }
      if (eventHash === undefined) {
        return fail(
          checkpoint.seq,
          'checkpoint-beyond-head',
          `${what}: the chain no longer reaches it (events up to ${checkpoint.seq} were deleted)`,
        );
      }
      if (eventHash !== checkpoint.hash) {
        return fail(
          checkpoint.seq,
          'checkpoint-mismatch',
          `${what}: the chain has a different hash there (events up to ${checkpoint.seq} were rewritten after it was signed)`,
        );
      }
      verified++;
      lastSeq = Math.max(lastSeq, checkpoint.seq);
      if (keyIds.size < MAX_LISTED_KEYS) keyIds.add(checkpoint.keyId);
      return undefined;
    },
    summary(lastChainSeq) {
      return {
        signaturesChecked,
        verified,
        lastSeq,
        unsignedEvents: Math.max(0, lastChainSeq - lastSeq),
        keyIds: [...keyIds],
      };
    },
  };
}

function shortKey(keyId: string): string {
  return /^[0-9a-f]{64}$/.test(keyId) ? `sha256:${keyId.slice(0, 16)}` : JSON.stringify(keyId.slice(0, 80));
}

function describeTime(at: string): string {
  return /^[\dT:.Z-]{1,40}$/.test(at) ? at : JSON.stringify(at.slice(0, 40));
}

// Security limitations:
// - A checkpoint proves the chain up to its seq; events after the newest checkpoint are covered by the
//   hash chain alone, and whoever can write the database can remove them together with the head that
//   names them. The witness (a copy outside the store) and the anchor file are what show that.
// - Whoever holds the private key can sign any chain: the key must be kept from database writers.
