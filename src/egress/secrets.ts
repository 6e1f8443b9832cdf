/**
 * Secrets at the edge. The sandbox holds a placeholder (`airlock-secret-NAME-<random>`), never the value;
 * the proxy swaps the value in only on requests to the secret's own hosts. A placeholder bound for any
 * other host is refused, not sent: it is worthless there, but sending it would say the request expected
 * a credential, and "no placeholder ever leaves unsubstituted" is a rule simple enough to check.
 * On the way back, a value a secret host echoes is turned back into its placeholder, so the sandbox
 * never learns it from a response either.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { AirlockError } from '../errors/index.ts';
import { parseAllowEntry, type HostRule } from './allow-list.ts';
import {
  createNeedleScanner,
  createStreamReplacer,
  replaceAll,
  type ByteReplacement,
  type NeedleScanner,
  type StreamReplacer,
} from './byte-replace.ts';

/** A secret as a session is given it: the real value and the hosts it may be sent to. */
export interface EgressSecretSpec {
  readonly name: string;
  readonly value: string;
  /** Host names or `*.` globs; ports do not matter (the allow-list decides those). */
  readonly hosts: readonly string[];
}

export interface SessionSecret {
  readonly name: string;
  readonly placeholder: string;
  readonly value: string;
  readonly hosts: readonly string[];
  /** True when the value may be sent to `host` (normalised). */
  boundTo(host: string): boolean;
}

export const PLACEHOLDER_PREFIX = 'airlock-secret-';

/** As the output redactor requires: shorter values would shred ordinary output when redacted. */
export const MIN_SECRET_VALUE_LENGTH = 8;
export const MAX_SECRET_VALUE_BYTES = 16 * 1024;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Checks the specs and gives each secret its placeholder; throws INVALID_ARGUMENT listing every problem.
 * Placeholders derive from `seed` (random per session, kept private on the host), so a restarted proxy
 * recognises the placeholders its sandbox already holds; without one they are simply random.
 */
export function createSessionSecrets(
  specs: readonly EgressSecretSpec[],
  seed: string = randomBytes(32).toString('hex'),
): readonly SessionSecret[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const secrets = specs.map((spec) => {
    if (!SECRET_NAME.test(spec.name))
      problems.push(`${JSON.stringify(spec.name)} is not a secret name (letters, digits, _)`);
    if (names.has(spec.name)) problems.push(`secret ${spec.name} is listed twice`);
    names.add(spec.name);
    const valueProblem = secretValueProblem(spec.value);
    if (valueProblem !== undefined) problems.push(`secret ${spec.name}: ${valueProblem}`);
    const rules: HostRule[] = [];
    if (spec.hosts.length === 0) problems.push(`secret ${spec.name} names no hosts to send it to`);
    for (const host of spec.hosts) {
      const parsed = parseAllowEntry(host);
      if (!parsed.ok || 'registry' in parsed.value)
        problems.push(`secret ${spec.name}: ${parsed.ok ? `${host} is not a host` : parsed.problem}`);
      else rules.push(parsed.value);
    }
    return makeSecret(spec, rules, seed);
  });
  if (problems.length > 0) {
    throw new AirlockError('INVALID_ARGUMENT', `invalid secrets:\n  ${problems.join('\n  ')}`, { problems });
  }
  return Object.freeze(secrets);
}

function secretValueProblem(value: string): string | undefined {
  if (value.length < MIN_SECRET_VALUE_LENGTH) {
    return `the value is shorter than ${MIN_SECRET_VALUE_LENGTH} characters, too short to redact from output`;
  }
  if (Buffer.byteLength(value) > MAX_SECRET_VALUE_BYTES)
    return `the value is over ${MAX_SECRET_VALUE_BYTES} bytes`;
  // Swapped into a header, CR or LF would start a new header (or a new request): header injection.
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
  if (/[\u0000-\u001f\u007f]/.test(value)) return 'the value contains control characters (a line break?)';
  return undefined;
}

function makeSecret(spec: EgressSecretSpec, rules: readonly HostRule[], seed: string): SessionSecret {
  // 128 bits from a random seed: unguessable, so no one can forge a placeholder of another session's
  // secret, and never a valid credential anywhere.
  const random = createHmac('sha256', seed).update(spec.name).digest('hex').slice(0, 32);
  const placeholder = `${PLACEHOLDER_PREFIX}${spec.name}-${random}`;
  const patterns = rules.map((rule) => rule.host);
  return Object.freeze({
    name: spec.name,
    placeholder,
    value: spec.value,
    hosts: Object.freeze(patterns),
    boundTo: (host: string) =>
      patterns.some((pattern) =>
        pattern.startsWith('*.')
          ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1
          : pattern === host,
      ),
  });
}

export type Substituted =
  | { readonly ok: true; readonly text: string; readonly used: readonly string[] }
  /** A placeholder of `secret` is in a request to a host it is not bound to. */
  | { readonly ok: false; readonly secret: SessionSecret };

/**
 * Placeholders in one header value (or the request target) for a request to `host`: swapped for the
 * value where the secret is bound to `host`, otherwise the request must be refused. Basic credentials
 * are decoded first, because `curl -u user:$TOKEN` and git hide the placeholder inside base64.
 */
export function substituteText(
  text: string,
  host: string,
  secrets: readonly SessionSecret[],
  encode: (value: string) => string = (value) => value,
): Substituted {
  const basic = /^(basic\s+)([A-Za-z0-9+/=]+)$/i.exec(text);
  if (basic !== null) {
    const decoded = Buffer.from(basic[2]!, 'base64').toString('latin1');
    const inner = substituteText(decoded, host, secrets, (value) => Buffer.from(value).toString('latin1'));
    if (!inner.ok || inner.used.length === 0) return inner.ok ? { ok: true, text, used: [] } : inner;
    return {
      ok: true,
      text: basic[1]! + Buffer.from(inner.text, 'latin1').toString('base64'),
      used: inner.used,
    };
  }
  let out = text;
  const used: string[] = [];
  for (const secret of secrets) {
    if (!out.includes(secret.placeholder)) continue;
    if (!secret.boundTo(host)) return { ok: false, secret };
    out = out.split(secret.placeholder).join(encode(secret.value));
    used.push(secret.name);
  }
  return { ok: true, text: out, used };
}

/** Placeholders → values in a whole body bound for `host`; a wrong-host placeholder refuses it. */
export function substituteBody(
  body: Buffer,
  host: string,
  secrets: readonly SessionSecret[],
): { ok: true; body: Buffer } | { ok: false; secret: SessionSecret } {
  const replacements = secrets.map((secret) => placeholderReplacement(secret, host));
  const out = replaceAll(body, replacements);
  if (out !== undefined) return { ok: true, body: out };
  const index = replacements.findIndex(
    (entry) => entry.replacement === undefined && body.includes(entry.needle),
  );
  return { ok: false, secret: secrets[index]! };
}

function placeholderReplacement(secret: SessionSecret, host: string): ByteReplacement {
  const needle = Buffer.from(secret.placeholder);
  return secret.boundTo(host) ? { needle, replacement: Buffer.from(secret.value) } : { needle };
}

/**
 * For a stream to `host` the proxy cannot rewrite (a body too large to hold, a plaintext tunnel): any
 * placeholder stops it, since it could be neither swapped nor sent.
 */
export function placeholderGuard(secrets: readonly SessionSecret[]): StreamReplacer | undefined {
  if (secrets.length === 0) return undefined;
  return createStreamReplacer(secrets.map((secret) => ({ needle: Buffer.from(secret.placeholder) })));
}

/** The same watch for a stream passed through unparsed, which must never wait on a held byte. */
export function placeholderScanner(secrets: readonly SessionSecret[]): NeedleScanner | undefined {
  if (secrets.length === 0) return undefined;
  return createNeedleScanner(secrets.map((secret) => Buffer.from(secret.placeholder)));
}

/** Values → placeholders, for what a secret's host sends back into the sandbox. */
export function valueRedactor(secrets: readonly SessionSecret[]): StreamReplacer {
  return createStreamReplacer(
    secrets.map((secret) => ({
      needle: Buffer.from(secret.value),
      replacement: Buffer.from(secret.placeholder),
    })),
  );
}

export function redactValues(text: string, secrets: readonly SessionSecret[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret.value).join(secret.placeholder);
  return out;
}

/*
 * Security limitations
 * - Hosts without secrets keep TLS end to end (CONNECT passthrough), so the proxy cannot see inside:
 *   a placeholder can leave only inside an opaque TLS stream to an allowed host whose SNI matched.
 *   Decided on purpose: a placeholder is random and valid nowhere, the value itself never leaves except
 *   to its hosts, and the alternative (opening TLS to every host once a session has a secret) would
 *   break certificate pinning, widen what the proxy parses and still not see inside client-side
 *   encryption. Plaintext streams (HTTP, or opaque protocols) are scanned, and refused on a placeholder.
 * - An opaque stream's tail that begins a placeholder is held only 50 ms (a protocol waiting for its
 *   reply must get its last bytes through): a placeholder written in two parts further apart than that
 *   has its first part sent before the stream is stopped; the whole of it is never sent.
 * - Swapped: the request target, header values (Basic credentials decoded) and bodies with a
 *   Content-Length up to maxBodyRewriteBytes that are not content-encoded. Larger, chunked or encoded
 *   bodies to a secret's host are only guarded; a compressed body hides a placeholder from the guard.
 * - Echoes of a value are turned back into the placeholder in response headers and identity-encoded
 *   bodies; a compressed or re-encoded (base64) echo reaches the sandbox, where the router's output
 *   redaction still keeps it from the model.
 */
