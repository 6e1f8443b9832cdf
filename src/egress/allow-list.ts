/**
 * The session's allow-list: host globs with optional ports, as airlock.yaml writes them
 * (`api.example.test`, `*.docs.example.org:443`, `registry:npm`). Parsed and checked once, when a session
 * opens or its list changes, so a bad entry is refused loudly then and matching is a plain comparison.
 */
import { formatHostPort, parsePort, parseTargetHost, quote, type Parsed } from './host-name.ts';

/** Ports an entry without `:port` allows: plain HTTP and HTTPS. */
export const DEFAULT_PORTS: readonly number[] = Object.freeze([80, 443]);

export const REGISTRY_NAMES = ['npm', 'pypi'] as const;
export type RegistryName = (typeof REGISTRY_NAMES)[number];

export interface HostRule {
  /** A host name, or `*.` and a name for any name below it (not the name itself). */
  readonly host: string;
  readonly ports: readonly number[];
}

/** A package registry named by the host's own configuration (npm config, pip config). */
export interface RegistryRule {
  readonly registry: RegistryName;
}

export type AllowEntry = HostRule | RegistryRule;

export function isRegistryRule(entry: AllowEntry): entry is RegistryRule {
  return 'registry' in entry;
}

const REGISTRY_PREFIX = 'registry:';

/** One allow-list entry as written, or a sentence saying what is wrong with it. */
export function parseAllowEntry(text: string): Parsed<AllowEntry> {
  if (text.startsWith(REGISTRY_PREFIX)) {
    const name = text.slice(REGISTRY_PREFIX.length);
    const registry = REGISTRY_NAMES.find((candidate) => candidate === name);
    return registry === undefined
      ? {
          ok: false,
          problem: `${quote(text)} names no registry Airlock knows: use ${REGISTRY_NAMES.map((n) => REGISTRY_PREFIX + n).join(' or ')}`,
        }
      : { ok: true, value: { registry } };
  }
  const colon = text.lastIndexOf(':');
  const hostText = colon === -1 ? text : text.slice(0, colon);
  const port = colon === -1 ? undefined : parsePort(text.slice(colon + 1));
  if (colon !== -1 && port === undefined) {
    return {
      ok: false,
      problem: `${quote(text)} has no valid port after ":" (1-65535), like api.example.com:8443`,
    };
  }
  const wildcard = hostText.startsWith('*.');
  const name = wildcard ? hostText.slice(2) : hostText;
  if (name === '*' || name.includes('*') || (wildcard && !name.includes('.'))) {
    return {
      ok: false,
      problem: `${quote(text)} would allow too much: use a name like api.example.com or *.example.com`,
    };
  }
  const parsed = parseTargetHost(name);
  if (!parsed.ok)
    return {
      ok: false,
      problem: `${quote(text)} is not a host: use a name like api.example.com or *.example.com (no scheme or path)`,
    };
  if (parsed.value.kind === 'ip') {
    return {
      ok: false,
      problem: `${quote(text)} is an address: allow a name (and map it in hosts if it must lead to a fixed address)`,
    };
  }
  const host = wildcard ? `*.${parsed.value.host}` : parsed.value.host;
  return { ok: true, value: { host, ports: port === undefined ? DEFAULT_PORTS : [port] } };
}

/** The problem with an allow-list entry, or undefined: for schemas that report every bad entry at once. */
export function allowEntryProblem(text: string): string | undefined {
  const parsed = parseAllowEntry(text);
  return parsed.ok ? undefined : parsed.problem;
}

export function formatRule(rule: HostRule): string {
  return rule.ports === DEFAULT_PORTS ||
    (rule.ports.length === 2 && rule.ports[0] === 80 && rule.ports[1] === 443)
    ? rule.host
    : rule.ports.map((port) => formatHostPort(rule.host, port)).join(', ');
}

export interface AllowList {
  readonly rules: readonly HostRule[];
  /** `host` must already be normalised (see parseTargetHost). */
  allows(host: string, port: number): boolean;
  /** The list in the words of the refusal the model reads: `api.example.test, *.docs.example.org:443`. */
  describe(): string;
}

/** How many entries a refusal names before "and N more": the reason is one line for a model to read. */
const DESCRIBED_ENTRIES = 8;

export function compileAllowList(rules: readonly HostRule[]): AllowList {
  const frozen = Object.freeze(
    rules.map((rule) => Object.freeze({ host: rule.host, ports: Object.freeze([...rule.ports]) })),
  );
  return {
    rules: frozen,
    allows: (host, port) => frozen.some((rule) => rule.ports.includes(port) && hostMatches(rule.host, host)),
    describe: () => {
      if (frozen.length === 0) return 'none';
      const shown = frozen.slice(0, DESCRIBED_ENTRIES).map(formatRule).join(', ');
      const more = frozen.length - DESCRIBED_ENTRIES;
      return more > 0 ? `${shown} and ${more} more` : shown;
    },
  };
}

function hostMatches(pattern: string, host: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === host;
  // `*.example.org` covers every name below example.org at any depth, never example.org itself, and
  // never an IP address (whose text cannot end in a name anyway).
  return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
}
