import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  mkdirSync,
  openSync,
  readSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { auditKeyId, type AuditPublicKey, type AuditSigningKey } from './audit-checkpoint.ts';

/**
 * The audit signing key on disk: an Ed25519 private key in PKCS#8 PEM, in a file only its owner can
 * read, kept outside the store so that writing the database does not give the power to sign.
 */

/** The key's file name under AIRLOCK_HOME when the configuration names no other place. */
export const AUDIT_KEY_FILE = 'audit-key';

/** A key file is a few hundred bytes; anything far larger is not one, and is not read into memory. */
const MAX_KEY_FILE_BYTES = 64 * 1024;

const PUBLIC_PEM = /-----BEGIN PUBLIC KEY-----[A-Za-z0-9+/=\s]+-----END PUBLIC KEY-----/;
const FINGERPRINT_LINE = /^fingerprint: sha256:([0-9a-f]{64})$/m;

/**
 * The signing key at `path`, generated on first use. A new key is written to a temporary file and
 * linked into place, so two processes starting at once end up with the same key and neither reads a
 * half-written one.
 */
export function loadOrCreateAuditKey(path: string): AuditSigningKey {
  const existing = readAuditSigningKey(path);
  if (existing !== null) return existing;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const temporary = join(dirname(path), `.audit-key-${randomBytes(6).toString('hex')}.tmp`);
    writeFileSync(temporary, privateKey.export({ type: 'pkcs8', format: 'pem' }), {
      mode: 0o600,
      flag: 'wx',
    });
    try {
      linkSync(temporary, path);
    } catch (error) {
      // Another process linked its key first: that one is the key.
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    } finally {
      unlinkSync(temporary);
    }
  } catch (error) {
    throw new AirlockError(
      'STORE_UNAVAILABLE',
      `cannot create the audit signing key ${path}: ${String(error)}`,
      {
        path,
      },
    );
  }
  const created = readAuditSigningKey(path);
  if (created === null) {
    throw new AirlockError('STORE_UNAVAILABLE', `the audit signing key ${path} vanished as it was created`, {
      path,
    });
  }
  return created;
}

/**
 * The signing key at `path`, or null when there is none. Refused with INVALID_CONFIG: a symlink (it
 * could point at a key someone else controls), anything but a regular file, a file group or others may
 * read or write (the key signs for the whole audit log), and a file that is not an Ed25519 private key.
 */
export function readAuditSigningKey(path: string): AuditSigningKey | null {
  const text = readKeyFile(path, 'the audit signing key');
  if (text === null) return null;
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(text);
  } catch {
    throw notAKey(path, 'does not hold a PEM private key');
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw notAKey(path, `holds a ${String(privateKey.asymmetricKeyType)} key, not an Ed25519 one`);
  }
  const publicKey = createPublicKey(privateKey);
  return { keyId: auditKeyId(publicKey), publicKey, privateKey };
}

/**
 * A public key for verify from a file an auditor keeps: the output of `airlock audit key` (a PEM public
 * key, optionally with its fingerprint line, which must then match). Null when the file does not exist.
 */
export function readAuditPublicKey(path: string): AuditPublicKey | null {
  const text = readKeyFile(path, 'the public key file', { privateFile: false });
  if (text === null) return null;
  const pem = PUBLIC_PEM.exec(text)?.[0];
  if (pem === undefined) {
    throw notAKey(path, 'has no PEM public key (-----BEGIN PUBLIC KEY-----), as airlock audit key prints');
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(pem);
  } catch {
    throw notAKey(path, 'holds a PEM block that is not a public key');
  }
  if (publicKey.asymmetricKeyType !== 'ed25519') {
    throw notAKey(path, `holds a ${String(publicKey.asymmetricKeyType)} key, not an Ed25519 one`);
  }
  const keyId = auditKeyId(publicKey);
  const stated = FINGERPRINT_LINE.exec(text)?.[1];
  if (stated !== undefined && stated !== keyId) {
    throw notAKey(path, `names fingerprint sha256:${stated} but its key's is sha256:${keyId}`);
  }
  return { keyId, publicKey };
}

/** What `airlock audit key` prints: the PEM public key, then its fingerprint. */
export function formatAuditPublicKey(key: AuditPublicKey): string {
  const pem = String(key.publicKey.export({ type: 'spki', format: 'pem' }));
  return `${pem.endsWith('\n') ? pem : `${pem}\n`}fingerprint: sha256:${key.keyId}\n`;
}

function notAKey(path: string, problem: string): AirlockError {
  return new AirlockError('INVALID_CONFIG', `${path} ${problem}`, { path });
}

/**
 * Reads a key file through one descriptor opened with O_NOFOLLOW, so the checks below are about the
 * file that is read and a symlink swapped in between cannot slip past them.
 */
function readKeyFile(
  path: string,
  what: string,
  { privateFile }: { readonly privateFile: boolean } = { privateFile: true },
): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') {
      throw new AirlockError('INVALID_CONFIG', `${what} ${path} is a symlink; keep the key itself there`, {
        path,
      });
    }
    throw new AirlockError('STORE_UNAVAILABLE', `cannot read ${what} ${path}: ${String(error)}`, { path });
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new AirlockError('INVALID_CONFIG', `${what} ${path} is not a regular file`, { path });
    }
    if (privateFile && (stat.mode & 0o077) !== 0) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `${what} ${path} is open to other users (mode ${(stat.mode & 0o777).toString(8)}): ` +
          `whoever reads it can sign a rewritten audit log; run chmod 600 ${path}, or remove it to get a new key`,
        { path, mode: (stat.mode & 0o777).toString(8) },
      );
    }
    if (stat.size > MAX_KEY_FILE_BYTES) {
      throw new AirlockError('INVALID_CONFIG', `${what} ${path} is ${stat.size} bytes: not a key file`, {
        path,
      });
    }
    const buffer = Buffer.alloc(stat.size);
    let read = 0;
    while (read < buffer.length) {
      const count = readSync(fd, buffer, read, buffer.length - read, read);
      if (count === 0) break;
      read += count;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

// Security limitations:
// - The key is as safe as the account that owns it: a database writer who is also that user (or root)
//   can read it and sign a rewritten log. Keep the store writable by fewer people than the key, or keep
//   the public key elsewhere and compare with a witness outside both.
// - A key replaced by someone who can write its directory signs from then on; verify with a public key
//   kept elsewhere (--public-key) shows that, since the old checkpoints no longer match the new key.
