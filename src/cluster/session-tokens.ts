/**
 * Session tokens every node of a cluster can check. A token a node keeps only in its memory is
 * unknown to the others: once that node was lost, its sessions' agents got 401 from the survivors
 * instead of being told their session had ended with it. So in a cluster a session token names its
 * session and carries a MAC under the cluster secret (a key derived for this one purpose): any node
 * reads the session from it and checks the MAC without a lookup, and the route then answers for the
 * session as the store has it (410 SESSION_ENDED with the reason `node_lost` for a lost node's).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ClusterSecret } from './secret.ts';

/** `alk_sess_c1.<session id hex>.<nonce>.<mac>`: 24 hex digits, 16 and 32 bytes base64url. */
const TOKEN = /^alk_sess_c1\.([0-9a-f]{24})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const SESSION_ID = /^ses_([0-9a-f]{24})$/;
const NONCE_BYTES = 16;

export interface SessionTokenIssuer {
  /** A new token for the session (its nonce makes each one different). */
  mint(sessionId: string): string;
  /** The session the token was minted for, or null when it is not a token of this cluster. */
  sessionOf(token: string): string | null;
}

export function createSessionTokenIssuer(secret: ClusterSecret): SessionTokenIssuer {
  return {
    mint(sessionId) {
      const hex = SESSION_ID.exec(sessionId)?.[1];
      // Session ids are made by the session manager; anything else is a bug, never a token.
      if (hex === undefined) throw new Error(`not a session id: ${sessionId.slice(0, 80)}`);
      const nonce = randomBytes(NONCE_BYTES).toString('base64url');
      return `alk_sess_c1.${hex}.${nonce}.${secret.sessionTokenMac(`ses_${hex}`, nonce)}`;
    },
    sessionOf(token) {
      const match = TOKEN.exec(token);
      if (match === null) return null;
      const [, hex = '', nonce = '', given = ''] = match;
      const sessionId = `ses_${hex}`;
      const expected = Buffer.from(secret.sessionTokenMac(sessionId, nonce));
      const actual = Buffer.from(given);
      return expected.length === actual.length && timingSafeEqual(expected, actual) ? sessionId : null;
    },
  };
}

// Security limitations:
// - Such a token cannot be revoked alone: it is good for its session's lifetime, and after the session
//   ends it reaches only that session's records (the routes refuse new work with SESSION_ENDED). A
//   session whose token leaked is ended (DELETE), as without a cluster.
// - Whoever holds the cluster secret can mint a token for any session: the secret already lets its
//   holder send any request as another node, so it is kept like the admin token.
