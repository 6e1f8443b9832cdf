/**
 * `airlock audit verify` and `airlock audit key` against the store on this machine: which keys check
 * the signatures, where this machine's anchor for the store is, which witness to compare with.
 */
import { anchorPathFor, auditKeyPath } from '../airlock/index.ts';
import type { AuditConfig } from '../config/index.ts';
import { AirlockError, isAirlockError } from '../errors/index.ts';
import { readAuditPublicKey, readAuditSigningKey, verifyAudit } from '../store/index.ts';
import type { AuditPublicKey, AuditReport, Store } from '../store/index.ts';

export interface VerifyRequest {
  /** Public key files to check signatures with instead of this machine's key (--public-key). */
  readonly publicKeyFiles: readonly string[];
  /** A witness file to compare the store with (--witness); otherwise the configured one, if any. */
  readonly witnessPath?: string;
}

export interface VerifyOutcome {
  readonly report: AuditReport;
  /** Whose keys checked the signatures, or why none did, in words for the output. */
  readonly keys: string;
}

export interface LocalAuditSettings {
  readonly home: string;
  readonly config: AuditConfig;
  /** The store's resolved path. */
  readonly storePath: string;
}

/** The keys verify trusts: the files given, else the public half of this machine's signing key. */
export function trustedKeysFor(
  request: VerifyRequest,
  settings: LocalAuditSettings,
): { readonly keys: AuditPublicKey[]; readonly described: string } {
  if (request.publicKeyFiles.length > 0) {
    const keys = request.publicKeyFiles.map((path) => {
      const key = readAuditPublicKey(path);
      if (key === null) {
        throw new AirlockError('INVALID_ARGUMENT', `--public-key ${path}: no such file`, {
          field: '--public-key',
          value: path,
        });
      }
      return key;
    });
    return { keys, described: `--public-key ${request.publicKeyFiles.join(', ')}` };
  }
  const path = auditKeyPath(settings.config, settings.home);
  try {
    const key = readAuditSigningKey(path);
    return key === null
      ? { keys: [], described: `no key: none at ${path} (pass --public-key FILE)` }
      : { keys: [key], described: `this machine's key (${path})` };
  } catch (error) {
    // A key this account may not read leaves the signatures unchecked, said plainly; an insecure or
    // malformed key file is an error of its own (exit 2).
    if (isAirlockError(error) && error.code === 'STORE_UNAVAILABLE') {
      return { keys: [], described: `no key: ${error.message} (pass --public-key FILE)` };
    }
    throw error;
  }
}

export async function verifyLocally(
  store: Store | null,
  settings: LocalAuditSettings,
  request: VerifyRequest,
  clusterKeys?: (store: Store) => Promise<AuditPublicKey[]>,
): Promise<VerifyOutcome> {
  const own = trustedKeysFor(request, settings);
  // A cluster's chain is signed by every node: without --public-key, each node's key as registered in
  // the store (vouched for by the cluster secret) is trusted along with this machine's.
  const others =
    request.publicKeyFiles.length > 0 || store === null || clusterKeys === undefined
      ? []
      : await clusterKeys(store);
  const keys = [...own.keys, ...others.filter((key) => !own.keys.some((mine) => mine.keyId === key.keyId))];
  const described =
    others.length > 0 ? `${own.described} and the cluster's ${others.length} node keys` : own.described;
  if (store === null) {
    const nothing = {
      signaturesChecked: keys.length > 0,
      verified: 0,
      lastSeq: 0,
      unsignedEvents: 0,
      keyIds: [],
    };
    return {
      report: { ok: true, checked: 0, lastHash: '', checkpoints: nothing, anchor: null, witness: null },
      keys: described,
    };
  }
  const anchorPath = anchorPathFor(settings.home, settings.storePath);
  const witnessPath = request.witnessPath ?? settings.config.witness?.file;
  const report = await verifyAudit(store, {
    trustedKeys: keys,
    ...(anchorPath === null ? {} : { anchorPath }),
    ...(witnessPath === undefined ? {} : { witnessPath }),
  });
  return { report, keys: described };
}
