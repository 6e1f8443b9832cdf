import { createHmac } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { thrownAirlockError } from '../../test/support/airlock-errors.ts';
import { bodyDigest, clusterSecretOf, EMPTY_BODY, readClusterSecret, TRAILER_BODY } from './secret.ts';

const SECRET = Buffer.from('s'.repeat(48));
const request = {
  method: 'GET',
  url: '/v1/sessions/ses_1/commands',
  from: 'node-a',
  to: 'node-b',
  nonce: 'n1',
  body: EMPTY_BODY,
};

describe('the cluster secret', () => {
  it('accepts a signed hop once, for that receiver, request line, body and time window only', () => {
    let clock = 1_000_000;
    const secret = clusterSecretOf(SECRET, () => clock);
    const header = secret.signRequest({ ...request, at: clock });
    const check = { method: request.method, url: request.url, to: 'node-b' };
    expect(secret.verifyRequest(header, check)).toEqual({
      ok: true,
      from: 'node-a',
      nonce: 'n1',
      body: EMPTY_BODY,
    });
    // Replayed: refused.
    expect(secret.verifyRequest(header, check)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/already used/),
    });

    const cases = [
      {
        what: 'another receiver',
        header: secret.signRequest({ ...request, nonce: 'n2', at: clock }),
        check: { ...check, to: 'node-c' },
      },
      {
        what: 'another path',
        header: secret.signRequest({ ...request, nonce: 'n3', at: clock }),
        check: { ...check, url: '/v1/audit' },
      },
      {
        what: 'another method',
        header: secret.signRequest({ ...request, nonce: 'n4', at: clock }),
        check: { ...check, method: 'DELETE' },
      },
      {
        what: 'another secret',
        header: clusterSecretOf(Buffer.from('t'.repeat(48)), () => clock).signRequest({
          ...request,
          nonce: 'n5',
          at: clock,
        }),
        check,
      },
      {
        what: 'another body digest in the header (adversarial)',
        header: secret
          .signRequest({ ...request, nonce: 'n8', at: clock, body: bodyDigest('{"command":"ls"}') })
          .replace(bodyDigest('{"command":"ls"}'), bodyDigest('{"command":"rm -rf /"}')),
        check,
      },
      { what: 'a forged header', header: `v2 node-a 1000000 n6 ${EMPTY_BODY} AAAA`, check },
      {
        what: 'a header of the request-line-only format',
        header: 'v1 node-a 1000000 n9 AAAA',
        check,
      },
      { what: 'garbage', header: 'v1', check },
    ];
    expect(cases.length).toBeGreaterThan(0);
    for (const entry of cases)
      expect(secret.verifyRequest(entry.header, entry.check), entry.what).toMatchObject({ ok: false });

    const old = secret.signRequest({ ...request, nonce: 'n7', at: clock });
    clock += 31_000;
    expect(secret.verifyRequest(old, check)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/time window/),
    });
  });

  it('vouches for a streamed body in a trailer bound to its request, refusing another body (adversarial)', () => {
    const secret = clusterSecretOf(SECRET);
    const hop = { from: 'node-a', to: 'node-b', nonce: 'n1' };
    const header = secret.signRequest({ ...request, at: Date.now(), body: TRAILER_BODY });
    expect(secret.verifyRequest(header, { method: 'GET', url: request.url, to: 'node-b' })).toMatchObject({
      ok: true,
      body: TRAILER_BODY,
    });
    const sent = bodyDigest('file contents');
    const trailer = secret.signBody(hop, sent);
    expect(secret.bodyValid(trailer, hop, sent)).toBe(true);
    // The body that arrived was changed in flight.
    expect(secret.bodyValid(trailer, hop, bodyDigest('other contents'))).toBe(false);
    // The trailer was rewritten to match the changed body, without the secret.
    const other = bodyDigest('other contents');
    expect(secret.bodyValid(trailer.replace(sent, other), hop, other)).toBe(false);
    // A trailer taken from another request.
    expect(secret.bodyValid(trailer, { ...hop, nonce: 'n2' }, sent)).toBe(false);
    expect(secret.bodyValid(trailer, { ...hop, to: 'node-c' }, sent)).toBe(false);
    expect(secret.bodyValid('garbage', hop, sent)).toBe(false);
  });

  it('keeps the request MAC and the audit-key MAC apart', () => {
    const secret = clusterSecretOf(SECRET);
    const mac = secret.keyMac('node-a', 'key1', 'PEM');
    expect(secret.keyMacValid('node-a', 'key1', 'PEM', mac)).toBe(true);
    expect(secret.keyMacValid('node-b', 'key1', 'PEM', mac)).toBe(false);
    expect(secret.keyMacValid('node-a', 'key1', 'OTHER', mac)).toBe(false);
  });

  it('signs hops exactly as the documented derivation does, so nodes of this version interoperate', () => {
    // Independent of the implementation: HMAC-SHA256 under a key derived per purpose from the secret.
    const key = (purpose: string): Buffer => createHmac('sha256', SECRET).update(purpose).digest();
    const hmac = (purpose: string, parts: string[]): string =>
      createHmac('sha256', key(purpose)).update(parts.join('\n')).digest('base64url');
    const secret = clusterSecretOf(SECRET, () => 5_000);
    const at = 5_000;
    const header = secret.signRequest({ ...request, at });
    expect(header).toBe(
      `v2 node-a ${at} n1 ${EMPTY_BODY} ${hmac('airlock.cluster.request.v1', ['GET', request.url, 'node-a', 'node-b', String(at), 'n1', EMPTY_BODY])}`,
    );
    expect(secret.signBody({ from: 'node-a', to: 'node-b', nonce: 'n1' }, 'd')).toBe(
      `d ${hmac('airlock.cluster.request-body.v2', ['node-a', 'node-b', 'n1', 'd'])}`,
    );
    expect(secret.sessionTokenMac('ses_1', 'n')).toBe(
      hmac('airlock.cluster.session-token.v1', ['ses_1', 'n']),
    );
    expect(secret.keyMac('node-a', 'k', 'PEM')).toBe(
      hmac('airlock.cluster.audit-key.v1', ['node-a', 'k', 'PEM']),
    );
    // A signature under another secret does not verify (adversarial).
    const other = clusterSecretOf(Buffer.from('t'.repeat(48)), () => 5_000);
    expect(other.verifyRequest(header, { method: 'GET', url: request.url, to: 'node-b' }).ok).toBe(false);
  });

  it('refuses a secret file that is short or readable by others', () => {
    const dir = mkdtempSync(join(tmpdir(), 'airlock-secret-'));
    const short = join(dir, 'short');
    writeFileSync(short, 'tooshort', { mode: 0o600 });
    expect(thrownAirlockError(() => readClusterSecret(short)).code).toBe('INVALID_CONFIG');
    const open = join(dir, 'open');
    writeFileSync(open, 'x'.repeat(64));
    chmodSync(open, 0o644);
    expect(thrownAirlockError(() => readClusterSecret(open)).code).toBe('INVALID_CONFIG');
    expect(thrownAirlockError(() => readClusterSecret(join(dir, 'missing'))).code).toBe('INVALID_CONFIG');
    const good = join(dir, 'good');
    writeFileSync(good, 'x'.repeat(64), { mode: 0o600 });
    expect(readClusterSecret(good).keyMac('a', 'b', 'c')).toMatch(/^[\w-]+$/);
  });
});
