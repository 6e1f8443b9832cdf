import { describe, expect, it } from 'vitest';
import { createTokenRegistry } from '../server/index.ts';
import { clusterSecretOf } from './secret.ts';
import { createSessionTokenIssuer } from './session-tokens.ts';

const SESSION = `ses_${'a1'.repeat(12)}`;
const OTHER = `ses_${'b2'.repeat(12)}`;

describe('session tokens in a cluster', () => {
  it('are honoured by every node holding the cluster secret, also after the minting node forgot them', () => {
    const secret = Buffer.from('s'.repeat(48));
    const nodeA = createTokenRegistry(
      'admin-token-xxxxxxxx',
      createSessionTokenIssuer(clusterSecretOf(secret)),
    );
    const nodeB = createTokenRegistry(
      'admin-token-xxxxxxxx',
      createSessionTokenIssuer(clusterSecretOf(secret)),
    );
    const token = nodeA.mintSessionToken(SESSION);
    expect(nodeB.resolve(token)).toMatchObject({ kind: 'session', sessionId: SESSION });
    nodeA.revokeSession(SESSION);
    // The route answers for the session as the store has it (SESSION_ENDED), not "unknown token".
    expect(nodeA.resolve(token)).toMatchObject({ kind: 'session', sessionId: SESSION });
    expect(nodeA.mintSessionToken(SESSION)).not.toBe(token);
  });

  it('refuses a token edited to name another session, or made with another secret (adversarial)', () => {
    const issuer = createSessionTokenIssuer(clusterSecretOf(Buffer.from('s'.repeat(48))));
    const stranger = createSessionTokenIssuer(clusterSecretOf(Buffer.from('t'.repeat(48))));
    const token = issuer.mint(SESSION);
    const cases = [
      token.replace(SESSION.slice(4), OTHER.slice(4)),
      stranger.mint(SESSION),
      `${token}x`,
      token.replace('alk_sess_c1.', 'alk_sess_c2.'),
      '',
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const forged of cases) expect(issuer.sessionOf(forged), forged).toBeNull();
    expect(issuer.sessionOf(token)).toBe(SESSION);
    const registry = createTokenRegistry('admin-token-xxxxxxxx', issuer);
    expect(registry.resolve(stranger.mint(SESSION))).toBeNull();
  });
});
