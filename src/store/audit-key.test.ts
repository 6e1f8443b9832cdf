import { chmodSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isAirlockError } from '../errors/index.ts';
import { checkpointSignedBy, signCheckpoint } from './audit-checkpoint.ts';
import {
  formatAuditPublicKey,
  loadOrCreateAuditKey,
  readAuditPublicKey,
  readAuditSigningKey,
} from './audit-key.ts';
import { makeTempDir, type TempDir } from './test-support.ts';

function thrownBy(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('the audit signing key file', () => {
  let dir: TempDir;
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => dir.remove());

  it('is generated on first use with mode 0600 in a 0700 directory, and the same key is read back', () => {
    const path = join(dir.path, 'state', 'audit-key');
    const created = loadOrCreateAuditKey(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir.path, 'state')).mode & 0o777).toBe(0o700);
    expect(readFileSync(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const again = loadOrCreateAuditKey(path);
    expect(again.keyId).toBe(created.keyId);
    expect(created.keyId).toMatch(/^[0-9a-f]{64}$/);
    // The temporary file it was written to first is gone.
    expect(readdirSync(join(dir.path, 'state'))).toEqual(['audit-key']);
    const checkpoint = signCheckpoint({ seq: 3, hash: 'ab'.repeat(32) }, '2025-01-01T00:00:00.000Z', again);
    expect(checkpointSignedBy(checkpoint, created)).toBe(true);
  });

  it('refuses a key file group or others can read, naming the fix (adversarial)', () => {
    const path = join(dir.path, 'audit-key');
    loadOrCreateAuditKey(path);
    chmodSync(path, 0o644);
    const error = thrownBy(() => loadOrCreateAuditKey(path));
    expect(isAirlockError(error) && error.code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toMatch(/open to other users \(mode 644\).*chmod 600/);
    chmodSync(path, 0o640);
    expect((thrownBy(() => readAuditSigningKey(path)) as Error).message).toMatch(/mode 640/);
  });

  it('refuses a symlink, even to a good key, and never replaces it (adversarial)', () => {
    const real = join(dir.path, 'elsewhere-key');
    const key = loadOrCreateAuditKey(real);
    const path = join(dir.path, 'audit-key');
    symlinkSync(real, path);
    const error = thrownBy(() => loadOrCreateAuditKey(path));
    expect(isAirlockError(error) && error.code).toBe('INVALID_CONFIG');
    expect((error as Error).message).toMatch(/is a symlink/);
    expect(loadOrCreateAuditKey(real).keyId).toBe(key.keyId);
  });

  it('refuses a file that is not an Ed25519 private key', () => {
    const path = join(dir.path, 'audit-key');
    writeFileSync(path, 'not a key\n', { mode: 0o600 });
    expect((thrownBy(() => readAuditSigningKey(path)) as Error).message).toMatch(
      /does not hold a PEM private key/,
    );
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    expect((thrownBy(() => readAuditSigningKey(path)) as Error).message).toMatch(
      /ec key, not an Ed25519 one/,
    );
  });

  it('prints a public key an auditor can keep elsewhere and read back with its fingerprint checked', () => {
    const key = loadOrCreateAuditKey(join(dir.path, 'audit-key'));
    const printed = formatAuditPublicKey(key);
    expect(printed).toMatch(
      /^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\nfingerprint: sha256:[0-9a-f]{64}\n$/,
    );
    expect(printed).not.toMatch(/PRIVATE/);
    const copy = join(dir.path, 'audit.pub');
    // A public key may be world-readable: it is meant to be handed around.
    writeFileSync(copy, printed, { mode: 0o644 });
    expect(readAuditPublicKey(copy)?.keyId).toBe(key.keyId);

    const other = loadOrCreateAuditKey(join(dir.path, 'other-key'));
    const spliced = formatAuditPublicKey(other).replace(
      /fingerprint: .*/,
      `fingerprint: sha256:${key.keyId}`,
    );
    writeFileSync(copy, spliced);
    expect((thrownBy(() => readAuditPublicKey(copy)) as Error).message).toMatch(/names fingerprint/);
    expect(readAuditPublicKey(join(dir.path, 'missing.pub'))).toBeNull();
  });
});
