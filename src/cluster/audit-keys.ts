/**
 * Every node signs checkpoints of the one audit chain with its own key, so a node's `verify` must trust
 * the others' keys too, and nothing else. Each node registers its public key in the store with a MAC
 * made with the cluster secret (secret.ts): a key is trusted only when its MAC verifies and its
 * fingerprint is the key's own, so someone who can write the database but does not hold the secret
 * cannot slip in a key and sign a rewritten chain with it.
 */
import { createPublicKey } from 'node:crypto';
import { auditKeyId } from '../store/index.ts';
import type { AuditPublicKey, AuditSigningKey } from '../store/index.ts';
import type { NodeTable } from './node-table.ts';
import type { ClusterSecret } from './secret.ts';

export function publicKeyPem(key: AuditPublicKey): string {
  return String(key.publicKey.export({ type: 'spki', format: 'pem' }));
}

/** What this node registers for its key. */
export function keyRegistration(
  nodeId: string,
  key: AuditSigningKey,
  secret: ClusterSecret,
): { keyId: string; publicKeyPem: string; mac: string } {
  const pem = publicKeyPem(key);
  return { keyId: key.keyId, publicKeyPem: pem, mac: secret.keyMac(nodeId, key.keyId, pem) };
}

export interface TrustedKeys {
  readonly keys: AuditPublicKey[];
  /** Registrations refused (a MAC that does not verify, a fingerprint that is not the key's). */
  readonly refused: readonly { readonly nodeId: string; readonly reason: string }[];
}

/** The registered keys whose registration the cluster secret vouches for. */
export async function trustedClusterKeys(table: NodeTable, secret: ClusterSecret): Promise<TrustedKeys> {
  const keys: AuditPublicKey[] = [];
  const refused: { nodeId: string; reason: string }[] = [];
  for (const row of await table.keys()) {
    if (!secret.keyMacValid(row.nodeId, row.keyId, row.publicKeyPem, row.mac)) {
      refused.push({ nodeId: row.nodeId, reason: 'its registration is not signed with the cluster secret' });
      continue;
    }
    try {
      const publicKey = createPublicKey(row.publicKeyPem);
      if (auditKeyId(publicKey) !== row.keyId) {
        refused.push({ nodeId: row.nodeId, reason: 'its fingerprint is not the key’s' });
        continue;
      }
      if (!keys.some((key) => key.keyId === row.keyId)) keys.push({ keyId: row.keyId, publicKey });
    } catch {
      refused.push({ nodeId: row.nodeId, reason: 'it is not an Ed25519 public key' });
    }
  }
  return { keys, refused };
}
