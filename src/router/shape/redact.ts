/**
 * Hides secrets in command output before it reaches the model, the audit log or the output store.
 * Two sources of knowledge:
 * - Known values: the secret environment variables the sandbox was given. Their plain text, their
 *   base64 and their percent-encoding become `[REDACTED:env:NAME]`.
 * - Token formats (see `secret-patterns.ts`): cloud keys, GitHub/GitLab/npm/Slack/Stripe/OpenAI/Anthropic
 *   tokens, private key blocks, JWTs, Authorization headers, URL passwords → `[REDACTED:<kind>]`.
 *
 * Pure and synchronous; a redactor holds only what `createRedactor` compiled, so redactors with
 * different secrets coexist. Redacting already-redacted text changes nothing.
 */
import { AirlockError } from '../../errors/index.ts';
import {
  PRIVATE_KEY_BEGIN,
  PRIVATE_KEY_END,
  PRIVATE_KEY_KIND,
  secretPatterns,
  type SecretPattern,
} from './secret-patterns.ts';
import { createHintFinder } from './token-hints.ts';

/**
 * Shorter configured secrets are refused: every occurrence of a 4-character value (`true`, `8080`,
 * `admin`) in ordinary output would be replaced, shredding the output while hiding nothing an agent
 * could not guess anyway.
 */
export const MIN_SECRET_LENGTH = 8;

/** Env var names go into markers, so they are held to the shape a shell accepts. */
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** A whole marker, as produced here; a secret-shaped match that is exactly a marker is left alone. */
const MARKER = /^\[REDACTED:[A-Za-z0-9_:.-]{1,160}\]$/;

export interface SecretValue {
  /** The env var name; it appears in the marker (`[REDACTED:env:NAME]`), the value never does. */
  readonly name: string;
  readonly value: string;
}

export interface RedactorOptions {
  readonly secrets?: ReadonlyArray<SecretValue> | undefined;
  /**
   * Values found in secret files copied into the sandbox (`[REDACTED:file:NAME]`). A file is
   * untrusted, so a value that cannot be redacted safely (too short, part of a marker) is skipped
   * instead of refused: a file must never be able to stop a session's output from being shown.
   */
  readonly fileSecrets?: ReadonlyArray<SecretValue> | undefined;
}

export interface RedactionResult {
  readonly text: string;
  /** How many places were replaced. */
  readonly redactions: number;
  /** Distinct kinds replaced, sorted: `env:NAME`, `github-token`, … — for the audit record. */
  readonly kinds: string[];
}

export interface Redactor {
  redact(text: string): RedactionResult;
  /**
   * The same for bytes that are not UTF-8 (a binary file), given as `latin1` text (one character a
   * byte): known values are searched as their UTF-8 bytes, token formats as they are (all ASCII).
   * Decoding a binary file as UTF-8 would need an escape per invalid byte; this needs none.
   */
  redactLatin1(bytes: string): RedactionResult;
  /**
   * For output redacted in pieces: where the end of `text` could be the beginning of a configured secret
   * value (or an encoding of it) that continues in what comes next — the earliest such offset, or
   * `text.length` when none could. Text before that offset can be redacted on its own without cutting
   * a value in two.
   */
  unfinishedSecretStart(text: string): number;
  /** Where `text` first holds a token format's hint (`ghp_`, `://`), or -1; no token's secret precedes it. */
  tokenHintAt(text: string): number;
}

interface Needle {
  readonly text: string;
  readonly kind: string;
  /** Smallest period of `text`; equal to its length when no prefix of it is also a suffix. */
  readonly period: number;
}

interface CompiledPattern {
  readonly kind: string;
  readonly pattern: RegExp;
  readonly hints: readonly string[];
  /** The hints are lower case, to be found in the lower-cased text. */
  readonly caseless: boolean;
}

function marker(kind: string): string {
  return `[REDACTED:${kind}]`;
}

export function createRedactor(options: RedactorOptions = {}): Redactor {
  const secrets = options.secrets ?? [];
  const fileSecrets = options.fileSecrets ?? [];
  const markers = [
    ...new Set([...secretPatterns.map((p) => p.kind), PRIVATE_KEY_KIND]).values(),
    ...secrets.map((s) => `env:${s.name}`),
    ...fileSecrets.map((s) => `file:${s.name}`),
  ].map(marker);
  const needles = compileNeedles(secrets, markers, fileSecrets);
  // The same values as the bytes a binary file would hold them as, one character a byte.
  const byteNeedles = needles.map((needle) => {
    const text = Buffer.from(needle.text, 'utf8').toString('latin1');
    return text === needle.text ? needle : { ...needle, text, period: smallestPeriod(text) };
  });
  // Own copies: a global RegExp carries `lastIndex`, which must never be shared between redactors.
  const patterns: CompiledPattern[] = secretPatterns.map((p: SecretPattern) => ({
    kind: p.kind,
    pattern: new RegExp(p.pattern.source, p.pattern.flags),
    hints: p.hints,
    caseless: p.pattern.flags.includes('i'),
  }));
  const hinted = createHintFinder(patterns);
  const begin = new RegExp(PRIVATE_KEY_BEGIN.source, 'g');
  const end = new RegExp(PRIVATE_KEY_END.source, 'g');

  function redactWith(text: string, known: readonly Needle[]): RedactionResult {
    const kinds = new Set<string>();
    let redactions = 0;
    const hit = (kind: string): string => {
      redactions += 1;
      kinds.add(kind);
      return marker(kind);
    };
    // Known values first: a configured GitHub token is better reported as the env var it came from.
    let out = redactNeedles(text, known, hit);
    out = redactPrivateKeys(out, begin, end, hit);
    // Only the formats whose hints are in the text run, found in one pass (token-hints.ts); asked again
    // after a replacement, since the text it is asked about has changed.
    let present = new Set(hinted.present(out));
    for (const compiled of patterns) {
      if (!present.has(compiled)) continue;
      const { kind, pattern } = compiled;
      const before = out;
      out = out.replace(pattern, (match: string, ...args: unknown[]) => {
        const groups = args[args.length - 1];
        const { pre = '', post = '' } =
          typeof groups === 'object' && groups !== null ? (groups as Record<string, string | undefined>) : {};
        const secret = match.slice(pre.length, match.length - post.length);
        if (MARKER.test(secret)) return match;
        return pre + hit(kind) + post;
      });
      if (out !== before) present = new Set(hinted.present(out));
    }
    return { text: out, redactions, kinds: [...kinds].sort() };
  }

  return {
    redact: (text) => redactWith(text, needles),
    redactLatin1: (bytes) => redactWith(bytes, byteNeedles),
    unfinishedSecretStart: (text) => unfinishedNeedleStart(text, needles),
    tokenHintAt: (text) => hinted.first(text),
  };
}

function compileNeedles(
  secrets: ReadonlyArray<SecretValue>,
  markers: readonly string[],
  fileSecrets: ReadonlyArray<SecretValue>,
): Needle[] {
  const needles = new Map<string, string>();
  const add = (value: string, kind: string): void => {
    for (const variant of [value, ...encodings(value)]) {
      if (variant.length < MIN_SECRET_LENGTH || markers.some((m) => m.includes(variant))) continue;
      if (!needles.has(variant)) needles.set(variant, kind);
    }
  };
  for (const { name, value } of secrets) {
    if (typeof name !== 'string' || !SECRET_NAME.test(name)) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `secret name ${JSON.stringify(String(name).slice(0, 40))} is not an environment variable name (letters, digits and _, not starting with a digit)`,
        { field: 'secrets', name },
      );
    }
    if (typeof value !== 'string' || value.length < MIN_SECRET_LENGTH) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `secret ${name} is shorter than ${MIN_SECRET_LENGTH} characters: redacting so short a value would shred ordinary output wherever it happens to occur`,
        {
          field: 'secrets',
          name,
          length: typeof value === 'string' ? value.length : null,
          minLength: MIN_SECRET_LENGTH,
        },
      );
    }
    // A value inside a marker would be re-redacted on every pass and break the markers themselves.
    if (markers.some((m) => m.includes(value))) {
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `secret ${name} occurs inside Airlock's own redaction markers, so it cannot be redacted reliably`,
        { field: 'secrets', name },
      );
    }
    add(value, `env:${name}`);
  }
  for (const { name, value } of fileSecrets) {
    const usable =
      typeof value === 'string' &&
      value.length >= MIN_SECRET_LENGTH &&
      SECRET_NAME.test(name) &&
      !markers.some((m) => m.includes(value));
    if (usable) add(value, `file:${name}`);
  }
  // Longest first, so where one value contains another the longer one names the marker.
  return [...needles]
    .map(([text, kind]) => ({ text, kind, period: smallestPeriod(text) }))
    .sort((a, b) => b.text.length - a.text.length);
}

/** How commands commonly print a value other than verbatim: base64 and percent-encoding. */
function encodings(value: string): string[] {
  const bytes = new TextEncoder().encode(value);
  const variants: string[] = [];
  const full = toBase64(bytes);
  variants.push(full, toBase64Url(full));
  // Inside a longer base64 stream the value may start at any of three byte offsets; the characters whose
  // six bits come only from the value are the same whatever surrounds it (`echo "KEY=$SECRET" | base64`).
  for (const offset of [0, 1, 2]) {
    const shifted = new Uint8Array(offset + bytes.length);
    shifted.set(bytes, offset);
    const encoded = toBase64(shifted);
    const first = Math.ceil((offset * 8) / 6);
    const last = Math.floor(((offset + bytes.length) * 8) / 6);
    const fragment = encoded.slice(first, last);
    variants.push(fragment, toBase64Url(fragment));
  }
  const uri = percentEncode(value);
  if (uri !== undefined) {
    // encodeURIComponent keeps !'()* that stricter encoders (Python's quote, curl) escape; some encoders
    // write lowercase hex; forms encode a space as +.
    const strict = uri.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
    for (const encoded of [uri, strict]) {
      variants.push(
        encoded,
        encoded.replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase()),
      );
      variants.push(encoded.replaceAll('%20', '+'));
    }
  }
  return variants.filter((v) => v !== value);
}

function percentEncode(value: string): string | undefined {
  try {
    return encodeURIComponent(value);
  } catch {
    return undefined; // a lone surrogate has no UTF-8 form, so no encoder prints one
  }
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function toBase64Url(base64: string): string {
  return base64.replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

/**
 * Replaces every occurrence of every needle. Occurrences may overlap (one value's tail is another's
 * head); overlapping ranges are merged so no fragment of either survives, and the merged range is named
 * after the needle that starts first (the longest one on a tie).
 */
function redactNeedles(text: string, needles: readonly Needle[], hit: (kind: string) => string): string {
  const ranges: Range[] = [];
  for (const needle of needles) findOccurrences(text, needle, ranges);
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a.start - b.start || b.end - a.end);
  const parts: string[] = [];
  let position = 0;
  let current: Range | undefined;
  for (const range of ranges) {
    if (current !== undefined && range.start < current.end) {
      if (range.end > current.end) current = { ...current, end: range.end };
      continue;
    }
    if (current !== undefined) parts.push(text.slice(position, current.start), hit(current.kind));
    position = current?.end ?? position;
    current = range;
  }
  if (current !== undefined) {
    parts.push(text.slice(position, current.start), hit(current.kind));
    position = current.end;
  }
  parts.push(text.slice(position));
  return parts.join('');
}

interface Range {
  readonly start: number;
  readonly end: number;
  readonly kind: string;
}

/**
 * Appends the ranges `needle` covers in `text`. Two occurrences closer than the needle's length are a
 * period apart, so a run of back-to-back or overlapping occurrences is extended one period at a time
 * (checking only the new characters) instead of being searched for again from every offset: a value like
 * `abababab` printed a million times costs time proportional to the output, not to output × length.
 */
function findOccurrences(text: string, needle: Needle, ranges: Range[]): void {
  const { text: value, period } = needle;
  const extension = value.slice(value.length - period);
  for (let at = text.indexOf(value); at !== -1; ) {
    let end = at + value.length;
    while (text.startsWith(extension, end)) end += period;
    ranges.push({ start: at, end, kind: needle.kind });
    at = text.indexOf(value, end - value.length + period);
  }
}

/**
 * The earliest offset from which `text` ends with a proper, non-empty prefix of a needle. Only prefixes
 * ending in the text's last character can match, so each needle is tried at the few places that
 * character occurs in it, longest first.
 */
function unfinishedNeedleStart(text: string, needles: readonly Needle[]): number {
  let start = text.length;
  const last = text.at(-1);
  if (last === undefined) return start;
  for (const { text: value } of needles) {
    for (
      let at = value.lastIndexOf(last, value.length - 2);
      at >= 0;
      at = at > 0 ? value.lastIndexOf(last, at - 1) : -1
    ) {
      if (text.length - (at + 1) >= start) break;
      if (text.endsWith(value.slice(0, at + 1))) {
        start = text.length - (at + 1);
        break;
      }
    }
  }
  return start;
}

/** The smallest p such that value[i] === value[i + p] for every i (KMP failure function). */
function smallestPeriod(value: string): number {
  const border = new Array<number>(value.length).fill(0);
  for (let i = 1, k = 0; i < value.length; i += 1) {
    while (k > 0 && value[i] !== value[k]) k = border[k - 1] ?? 0;
    if (value[i] === value[k]) k += 1;
    border[i] = k;
  }
  return value.length - (border[value.length - 1] ?? 0);
}

/** From each BEGIN to its END, or to the end of the text when the END is missing: half a key is a key. */
function redactPrivateKeys(text: string, begin: RegExp, end: RegExp, hit: (kind: string) => string): string {
  const parts: string[] = [];
  let position = 0;
  begin.lastIndex = 0;
  for (let start = begin.exec(text); start !== null; start = begin.exec(text)) {
    parts.push(text.slice(position, start.index), hit(PRIVATE_KEY_KIND));
    end.lastIndex = begin.lastIndex;
    const found = end.exec(text);
    position = found === null ? text.length : end.lastIndex;
    if (found === null) break;
    begin.lastIndex = position;
  }
  begin.lastIndex = 0;
  end.lastIndex = 0;
  if (parts.length === 0) return text;
  parts.push(text.slice(position));
  return parts.join('');
}

// Security limitations:
// - Only what is recognisable is hidden: a secret the sandbox was not told about, in a format not listed
//   in secret-patterns.ts, passes through. Configure secret env vars rather than relying on formats.
// - Encodings beyond base64 and percent-encoding (hex, rot13, base64 wrapped across lines, a value
//   printed one character per line, compressed output) are not recognised.
// - A private key printed without its BEGIN line (`tail key.pem`) is not recognised.
// - The first replacement of a value is named by the longest overlapping value; two distinct secrets
//   printed overlapping appear as one marker.
