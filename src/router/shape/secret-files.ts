/**
 * The values of a secret file (`.env`, a private key, `credentials.json`, `.netrc`…) that enters the
 * sandbox, so the redactor hides them wherever they are printed later: `cat`, `grep -r`, a script, an
 * archive listing. Which files are secret is the policy's list (`isSecretPath`); this only reads them.
 *
 * Pure. The file is untrusted (an agent may have written it): bounded in what it reads and returns;
 * the redactor takes these as `fileSecrets`, skipping any it cannot redact safely.
 */
import { MIN_SECRET_LENGTH } from './redact.ts';

export interface FileSecret {
  /** Names the marker (`[REDACTED:file:NAME]`): the key the value was set under, or SECRET_FILE. */
  readonly name: string;
  readonly value: string;
}

/** Bytes of a file read for values; past this only the start is searched (the policy still judges it). */
const MAX_SCANNED_BYTES = 1024 * 1024;
/** Values taken from one file. */
const MAX_VALUES = 256;
/** Longest value kept: a longer line is a blob, and its lines are searched instead. */
const MAX_VALUE_CHARS = 8192;
const FALLBACK_NAME = 'SECRET_FILE';

/** `KEY=value`, `export KEY="value"`, `key: value`, `"key": "value",` on one line. */
const ASSIGNMENT = /^\s*(?:export\s+)?["']?([A-Za-z_][A-Za-z0-9_.-]{0,127})["']?\s*[=:]\s*(.*?)\s*,?\s*$/;
/** `.netrc`: `machine h login u password p` (any order, one line or many). */
const NETRC_SECRET = /\b(?:password|passwd|login|account)\s+(\S+)/g;

function redactable(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH;
}

function markerName(key: string): string {
  const name = key.replace(/[^A-Za-z0-9_]/g, '_').replace(/^[0-9]/, '_$&');
  return name === '' ? FALLBACK_NAME : name.slice(0, 128);
}

function unquote(value: string): string {
  const quoted = /^(["'])(.*)\1$/.exec(value);
  return quoted ? (quoted[2] ?? '') : value;
}

/** String leaves of a JSON document, named by their keys. */
function jsonSecrets(text: string, out: FileSecret[]): boolean {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return false;
  }
  const visit = (node: unknown, key: string, depth: number): void => {
    if (out.length >= MAX_VALUES || depth > 32) return;
    if (typeof node === 'string') out.push({ name: markerName(key), value: node });
    else if (Array.isArray(node)) for (const item of node) visit(item, key, depth + 1);
    else if (typeof node === 'object' && node !== null) {
      for (const [child, value] of Object.entries(node)) visit(value, child, depth + 1);
    }
  };
  visit(document, FALLBACK_NAME, 0);
  return true;
}

function lineSecrets(text: string, out: FileSecret[]): void {
  for (const raw of text.split(/\r?\n/)) {
    if (out.length >= MAX_VALUES) return;
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('-----')) continue;
    for (const match of line.matchAll(NETRC_SECRET)) {
      out.push({ name: FALLBACK_NAME, value: match[1] ?? '' });
    }
    const assignment = ASSIGNMENT.exec(line);
    if (assignment) out.push({ name: markerName(assignment[1] ?? ''), value: unquote(assignment[2] ?? '') });
    // A line of a key or certificate body, a bare token: the whole line is the secret.
    else out.push({ name: FALLBACK_NAME, value: line });
  }
}

/**
 * The values to redact from a secret file's bytes: assignments' values, JSON string values, `.netrc`
 * passwords and logins, and every other line whole (a key body, a bare token). Binary files give their
 * text lines only; what cannot be read as text is left to the token formats.
 */
export function secretFileValues(data: Uint8Array): FileSecret[] {
  const text = Buffer.from(data.subarray(0, MAX_SCANNED_BYTES)).toString('utf8');
  const found: FileSecret[] = [];
  if (!jsonSecrets(text, found)) lineSecrets(text, found);
  const seen = new Set<string>();
  const values: FileSecret[] = [];
  for (const secret of found) {
    const value = secret.value.slice(0, MAX_VALUE_CHARS);
    if (!redactable(value) || value.includes('\uFFFD') || seen.has(value)) continue;
    seen.add(value);
    values.push({ name: secret.name, value });
    if (values.length >= MAX_VALUES) break;
  }
  return values;
}

/*
 * Security limitations
 * - Values shorter than MIN_SECRET_LENGTH are not redacted by value (they would shred ordinary
 *   output); a `.env` with `PIN=1234` still shows 1234 wherever it is printed.
 * - Only the first MAX_SCANNED_BYTES and MAX_VALUES values of a file are registered; a value cut at
 *   MAX_VALUE_CHARS is redacted only where its first part is printed whole.
 * - A value printed in a form the redactor does not know (hex, split across lines) is not recognised.
 */
