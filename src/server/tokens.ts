/**
 * Bearer tokens. The admin token can do everything; a session token is scoped to one session; people's
 * viewer and approver tokens live in the store (airlock/access-tokens.ts). Tokens
 * are kept only as sha256 digests, so a heap dump or a log line with a digest never grants access, and
 * the admin comparison is constant-time over fixed-length digests (a byte-by-byte compare of the raw
 * token would leak how many leading characters matched).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AirlockError } from '../errors/index.ts';

export type Principal =
  | { readonly kind: 'admin'; readonly tokenId: string }
  | { readonly kind: 'session'; readonly sessionId: string; readonly tokenId: string }
  /** A person's token (`airlock tokens create --role viewer|approver`); `tokenId` is its `tok_…` id. */
  | { readonly kind: 'viewer' | 'approver'; readonly tokenId: string; readonly name: string };

export interface AdminToken {
  readonly token: string;
  /** Where it is stored, or null when it came from AIRLOCK_TOKEN. */
  readonly path: string | null;
}

export interface TokenRegistry {
  /** Who the token belongs to, or null for a token this server never issued. */
  resolve(token: string): Principal | null;
  /** A new token for one session (returned once; only its digest is kept). */
  mintSessionToken(sessionId: string): string;
  /** Forgets every token of the session (it ended). */
  revokeSession(sessionId: string): void;
  /** Session ids that hold tokens, for sweeping ended sessions. */
  sessionIds(): string[];
}

/**
 * Session tokens any node of a cluster can check (src/cluster/session-tokens.ts). Without one, a
 * session token is known only to the control plane that minted it.
 */
export interface SharedSessionTokens {
  mint(sessionId: string): string;
  /** The session the token was minted for, or null when it is not one of these tokens. */
  sessionOf(token: string): string | null;
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/** A session may hold a few tokens (one per agent it is handed to); more is a leak, not a use. */
export const MAX_TOKENS_PER_SESSION = 16;

const TOKEN_BYTES = 32;

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A short, non-secret name for a token, for audit records (`decidedBy: api:1a2b3c4d`) and rate limits. */
function tokenIdOf(tokenDigest: Buffer): string {
  return tokenDigest.subarray(0, 4).toString('hex');
}

function newToken(prefix: string): string {
  return `${prefix}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
}

/**
 * The admin token: AIRLOCK_TOKEN when set, else `<home>/admin-token`, generated on first start with
 * mode 0600. A token file others can read is refused: it grants every session and every approval.
 */
export function loadOrCreateAdminToken(home: string, fromEnvironment: string | undefined): AdminToken {
  if (fromEnvironment !== undefined) return { token: fromEnvironment, path: null };
  mkdirSync(home, { recursive: true, mode: 0o700 });
  const path = join(home, ADMIN_TOKEN_FILE);
  try {
    writeFileSync(path, `${newToken('alk_admin_')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new AirlockError(
        'STORE_UNAVAILABLE',
        `cannot write the admin token to ${path}: ${String(error)}`,
        {
          path,
        },
      );
    }
  }
  const stat = lstatSync(path);
  if (!stat.isFile()) {
    throw new AirlockError('INVALID_CONFIG', `${path} is not a regular file; remove it to get a new token`, {
      path,
    });
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `${path} is readable by other users (mode ${(stat.mode & 0o777).toString(8)}); run chmod 600 on it`,
      { path },
    );
  }
  const token = readFileSync(path, 'utf8').trim();
  if (token.length < 16 || !/^[\x21-\x7e]+$/.test(token)) {
    throw new AirlockError(
      'INVALID_CONFIG',
      `${path} does not hold a usable token; remove it to get a new one`,
      {
        path,
      },
    );
  }
  return { token, path };
}

/** Reads the admin token a running server wrote, for the CLI's `--url` backend. Null when there is none. */
export function readAdminToken(home: string): string | null {
  const path = join(home, ADMIN_TOKEN_FILE);
  try {
    return readFileSync(path, 'utf8').trim() || null;
  } catch {
    return null;
  }
}

export function createTokenRegistry(adminToken: string, shared?: SharedSessionTokens): TokenRegistry {
  const adminDigest = digest(adminToken);
  const adminId = tokenIdOf(adminDigest);
  /** Digest (hex) → session id. */
  const sessionTokens = new Map<string, string>();
  const bySession = new Map<string, Set<string>>();

  return {
    resolve(token) {
      const given = digest(token);
      if (timingSafeEqual(given, adminDigest)) return { kind: 'admin', tokenId: adminId };
      // A Map lookup by digest reveals nothing usable: finding a digest's prefix says nothing about
      // the token's characters.
      // A cluster's token also after this node forgot it (its session ended): the route then says why.
      const sessionId = sessionTokens.get(given.toString('hex')) ?? shared?.sessionOf(token) ?? undefined;
      return sessionId === undefined ? null : { kind: 'session', sessionId, tokenId: tokenIdOf(given) };
    },
    mintSessionToken(sessionId) {
      const held = bySession.get(sessionId) ?? new Set<string>();
      if (held.size >= MAX_TOKENS_PER_SESSION) {
        throw new AirlockError(
          'LIMIT_REACHED',
          `session ${sessionId} already has ${MAX_TOKENS_PER_SESSION} tokens; reuse one of them`,
          { sessionId, max: MAX_TOKENS_PER_SESSION },
        );
      }
      const token = shared?.mint(sessionId) ?? newToken('alk_sess_');
      const key = digest(token).toString('hex');
      sessionTokens.set(key, sessionId);
      held.add(key);
      bySession.set(sessionId, held);
      return token;
    },
    revokeSession(sessionId) {
      for (const key of bySession.get(sessionId) ?? []) sessionTokens.delete(key);
      bySession.delete(sessionId);
    },
    sessionIds: () => [...bySession.keys()],
  };
}
