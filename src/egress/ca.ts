/**
 * The per-session certificate authority the proxy uses to read HTTPS to a secret's hosts. Only that
 * session's sandbox trusts it, so a key that leaked from one session could impersonate hosts to that
 * session alone. ECDSA P-256 through WebCrypto: a leaf certificate costs about a millisecond.
 */
import 'reflect-metadata'; // @peculiar/x509's dependency-injection container needs the Reflect metadata API.
import { createPrivateKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import * as x509 from '@peculiar/x509';

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type X509Crypto = NonNullable<Parameters<typeof x509.X509CertificateGenerator.create>[1]>;
type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
const subtle = webcrypto.subtle;
/** Passed to every call rather than set with cryptoProvider.set, which is process-wide state. */
const crypto = webcrypto as unknown as X509Crypto;

/** Longer than any session lives (sessions.lifetime defaults to 8 h), short enough to be worthless later. */
const CA_VALIDITY_MS = 30 * 24 * 3600_000;
/** Clocks inside a sandbox and on the host can disagree a little. */
const CLOCK_SKEW_MS = 3600_000;
/** Leaf certificates a session keeps; past it the oldest is made again when next needed. */
const MAX_CACHED_LEAVES = 256;

/** What survives a proxy restart, so the sandbox's trusted certificate stays valid. */
export interface CaMaterial {
  readonly certificatePem: string;
  readonly privateKeyPem: string;
}

export interface SessionCa {
  readonly material: CaMaterial;
  /** A TLS context presenting a certificate for `host`, signed by this CA. */
  contextFor(host: string): Promise<SecureContext>;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // positive, as RFC 5280 requires
  return bytes.toString('hex');
}

export async function createSessionCa(label: string, existing?: CaMaterial): Promise<SessionCa> {
  const material = existing ?? (await newCa(label));
  const caCertificate = new x509.X509Certificate(material.certificatePem);
  const caKey = await toSigningKey(createPrivateKey(material.privateKeyPem));
  // One key for every leaf of the session: generating a key per host would cost more than signing.
  const leafKeys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leafKeyPem = x509.PemConverter.encode(
    await subtle.exportKey('pkcs8', leafKeys.privateKey),
    'PRIVATE KEY',
  );
  const authorityKeyId = await x509.AuthorityKeyIdentifierExtension.create(
    caCertificate.publicKey,
    false,
    crypto,
  );
  const leaves = new Map<string, Promise<SecureContext>>();

  async function makeLeaf(host: string): Promise<SecureContext> {
    const now = Date.now();
    const leaf = await x509.X509CertificateGenerator.create(
      {
        serialNumber: serialNumber(),
        subject: [{ CN: [host] }],
        issuer: caCertificate.subject,
        notBefore: new Date(now - CLOCK_SKEW_MS),
        notAfter: new Date(Math.min(now + CA_VALIDITY_MS, caCertificate.notAfter.getTime())),
        publicKey: leafKeys.publicKey,
        signingKey: caKey,
        signingAlgorithm: ALGORITHM,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: isIP(host) === 0 ? 'dns' : 'ip', value: host }]),
          authorityKeyId,
        ],
      },
      crypto,
    );
    return createSecureContext({ key: leafKeyPem, cert: leaf.toString('pem') });
  }

  return {
    material,
    contextFor(host) {
      let context = leaves.get(host);
      if (context === undefined) {
        if (leaves.size >= MAX_CACHED_LEAVES) leaves.delete(leaves.keys().next().value!);
        context = makeLeaf(host);
        leaves.set(host, context);
        context.catch(() => leaves.delete(host));
      }
      return context;
    },
  };
}

async function newCa(label: string): Promise<CaMaterial> {
  const keys = (await subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: serialNumber(),
      name: [{ CN: [`Airlock egress CA ${label}`] }, { O: ['Airlock'] }],
      notBefore: new Date(now - CLOCK_SKEW_MS),
      notAfter: new Date(now + CA_VALIDITY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        // pathLen 0: this CA signs leaf certificates only, never another CA.
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return {
    certificatePem: certificate.toString('pem'),
    privateKeyPem: x509.PemConverter.encode(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY'),
  };
}

async function toSigningKey(key: KeyObject): Promise<CryptoKey> {
  return key.toCryptoKey(ALGORITHM, false, ['sign']) as CryptoKey;
}
