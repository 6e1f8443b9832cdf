/**
 * Tokens for people: `viewer` (sees sessions, commands, approvals and the audit log) and `approver`
 * (also decides). Minted by the admin (`airlock tokens create`, `POST /v1/tokens`), kept in the store
 * as a sha256 digest only, listed without it, and revoked by id; each change is an audit event in the
 * same transaction. Works on a bare Store, so the CLI can mint into the store a running server shares.
 */
import { createHash, randomBytes } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import type { AccessTokenRecord, AccessTokenRole, Store } from '../store/index.ts';

/** What is shown about a token: everything but its digest. */
export type AccessTokenInfo = Omit<AccessTokenRecord, 'digest'>;

export interface CreateAccessTokenInput {
  readonly role: AccessTokenRole;
  /** Whom it is for (shown in lists and the audit log). */
  readonly name: string;
  /** Who made it, for the audit log (`cli`, `api:admin:1a2b3c4d`). */
  readonly createdBy: string;
  /** Valid this long; absent: until revoked. */
  readonly ttlMs?: number;
}

export interface AccessTokens {
  /** The token is returned once; only its digest is kept. */
  create(input: CreateAccessTokenInput): Promise<{ readonly token: string; readonly info: AccessTokenInfo }>;
  list(): Promise<AccessTokenInfo[]>;
  /** Revoking a revoked token changes nothing; an unknown id is NOT_FOUND. */
  revoke(id: string, options: { readonly revokedBy: string }): Promise<AccessTokenInfo>;
  /** The token's record while it is valid; null for a token never issued, revoked or expired. */
  resolve(token: string): Promise<AccessTokenInfo | null>;
  /** The record by id while it is valid (a signed-in browser re-checks its token with this). */
  current(id: string): Promise<AccessTokenInfo | null>;
  /** Records that a browser signed in with a token (admin or a person's), by id, never the token. */
  signedIn(who: { readonly role: string; readonly tokenId: string }): Promise<void>;
}

export const ACCESS_TOKEN_PREFIX: Readonly<Record<AccessTokenRole, string>> = {
  viewer: 'alk_viewer_',
  approver: 'alk_approver_',
};

const TOKEN_BYTES = 32;
const MAX_NAME_CHARS = 100;
/** Longer than any sensible lifetime for a person's token; past it, revoke and mint again. */
const MAX_TTL_MS = 366 * 24 * 60 * 60 * 1000;

export function accessTokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function infoOf(record: AccessTokenRecord): AccessTokenInfo {
  const { digest: _digest, ...info } = record;
  return info;
}

function checkName(name: string): string {
  const trimmed = typeof name === 'string' ? name.trim() : '';
  // Control characters would let a name rewrite what a person reads in a terminal or the audit view.
  if (trimmed === '' || trimmed.length > MAX_NAME_CHARS || /\p{Cc}/u.test(trimmed)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `a token's name is 1 to ${MAX_NAME_CHARS} printable characters, e.g. "alice" or "on-call phone"`,
      { field: 'name' },
    );
  }
  return trimmed;
}

export function createAccessTokens(options: {
  readonly store: Store;
  readonly now?: () => number;
}): AccessTokens {
  const { store } = options;
  const now = options.now ?? Date.now;
  const valid = (record: AccessTokenRecord | null): AccessTokenInfo | null => {
    if (record === null || record.revokedAt !== null) return null;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= now()) return null;
    return infoOf(record);
  };

  return {
    async create(input) {
      if (input.role !== 'viewer' && input.role !== 'approver') {
        throw new AirlockError('INVALID_ARGUMENT', 'role must be viewer or approver', { field: 'role' });
      }
      const name = checkName(input.name);
      if (
        input.ttlMs !== undefined &&
        !(Number.isSafeInteger(input.ttlMs) && input.ttlMs > 0 && input.ttlMs <= MAX_TTL_MS)
      ) {
        throw new AirlockError('INVALID_ARGUMENT', 'a token lives from 1 ms to 366 days', { field: 'ttlMs' });
      }
      const token = `${ACCESS_TOKEN_PREFIX[input.role]}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
      const createdAt = now();
      const record: AccessTokenRecord = {
        id: `tok_${randomBytes(8).toString('hex')}`,
        digest: accessTokenDigest(token),
        role: input.role,
        name,
        createdAt: new Date(createdAt).toISOString(),
        createdBy: input.createdBy,
        expiresAt: input.ttlMs === undefined ? null : new Date(createdAt + input.ttlMs).toISOString(),
        revokedAt: null,
        revokedBy: null,
      };
      await store.commit({
        accessTokens: [record],
        events: [
          {
            type: 'token.created',
            sessionId: null,
            commandId: null,
            data: {
              tokenId: record.id,
              role: record.role,
              name,
              expiresAt: record.expiresAt,
              by: input.createdBy,
            },
          },
        ],
      });
      return { token, info: infoOf(record) };
    },

    list: async () => (await store.listAccessTokens()).map(infoOf),

    async revoke(id, { revokedBy }) {
      const record = await store.getAccessToken(id);
      if (record === null) {
        throw new AirlockError('NOT_FOUND', `no token ${JSON.stringify(id).slice(0, 80)}`, { tokenId: id });
      }
      if (record.revokedAt !== null) return infoOf(record);
      const revoked = { ...record, revokedAt: new Date(now()).toISOString(), revokedBy };
      await store.commit({
        accessTokens: [revoked],
        events: [
          { type: 'token.revoked', sessionId: null, commandId: null, data: { tokenId: id, by: revokedBy } },
        ],
      });
      return infoOf(revoked);
    },

    // Looked up by digest: an index lookup on a hash reveals nothing about the token's characters.
    resolve: async (token) => valid(await store.findAccessToken(accessTokenDigest(token))),
    current: async (id) => valid(await store.getAccessToken(id)),
    async signedIn(who) {
      await store.commit({
        events: [
          {
            type: 'dashboard.signed_in',
            sessionId: null,
            commandId: null,
            data: { role: who.role, tokenId: who.tokenId },
          },
        ],
      });
    },
  };
}

// Security limitations:
// - Revocation takes effect at the next request: a request already past authentication finishes.
// - The digest is a fast hash: fine for 256-bit random tokens, which cannot be guessed offline.
