import { globToRegExp, tokenizeGlob } from '../shell/index.ts';

/**
 * What a session's sandbox lets its commands do. The policy judges each effect against this: what
 * stays inside runs unasked, what crosses the boundary asks a person (or is refused when nobody can
 * grant it). A plain value: the router fills it from the session; tests write it by hand.
 */
export interface SessionCapabilities {
  /** The isolation commands run in; `none` when nothing contains them (a laptop hook). */
  readonly driver: 'bwrap' | 'gvisor' | 'docker' | 'none';
  readonly network: {
    /** `none`: only loopback. `allowlist`: `allow` and nothing else. `ask`: a person may grant other hosts. */
    readonly mode: 'none' | 'allowlist' | 'ask';
    /** Host globs (`api.example.test`, `*.docs.example.org:443`) or registry names (`registry:npm`). */
    readonly allow: readonly string[];
    /** Registry name (`npm`, `pypi`, `crates`, `go`) → the host globs the machine's configuration uses for it. */
    readonly registryNames: Readonly<Record<string, readonly string[]>>;
  };
  readonly secrets: {
    /** Variables whose value is a secret given to the session. */
    readonly envNames: readonly string[];
    /** Secret files copied into the sandbox (absolute, or relative to the workspace). */
    readonly files: readonly string[];
    /**
     * Variables holding an egress placeholder: the proxy swaps the value in toward the secret's hosts,
     * and the sandbox never holds it, so reading one shows nothing secret.
     */
    readonly placeholders?: readonly string[];
  };
  /** Absolute directories commands may change; everything else in the sandbox is read-only. */
  readonly writableRoots: readonly string[];
  /** Absolute directory commands start in. */
  readonly workspace: string;
  /** Absolute HOME of the commands (what `~` means). */
  readonly home: string;
}

/** Today's sandbox: no network, /workspace and /tmp writable, HOME is the workspace, no secrets. */
export const DEFAULT_CAPABILITIES: SessionCapabilities = Object.freeze({
  driver: 'bwrap',
  network: Object.freeze({ mode: 'none', allow: Object.freeze([]), registryNames: Object.freeze({}) }),
  secrets: Object.freeze({ envNames: Object.freeze([]), files: Object.freeze([]) }),
  writableRoots: Object.freeze(['/workspace', '/tmp']),
  workspace: '/workspace',
  home: '/workspace',
});

/** Capabilities ready for matching: globs compiled, paths canonical. Built once per session value. */
export interface CompiledCapabilities {
  readonly source: SessionCapabilities;
  readonly sandboxed: boolean;
  readonly networkMode: SessionCapabilities['network']['mode'];
  readonly hostRules: readonly RegExp[];
  readonly registries: ReadonlySet<string>;
  readonly secretEnv: ReadonlySet<string>;
  readonly placeholderEnv: ReadonlySet<string>;
  /** Secret files in the canonical form the shell stage uses (`./x`, `~/x`, `/x`). */
  readonly secretFiles: readonly string[];
  readonly writableRoots: readonly string[];
  readonly workspace: string;
  readonly home: string;
}

/** Hosts that are the sandbox's own: traffic to them never leaves it. */
const LOOPBACK =
  /^(localhost|localhost\.localdomain|ip6-localhost|127(\.\d{1,3}){3}|0\.0\.0\.0|::1|\[::1\]|0)$/;

export function isLoopback(host: string): boolean {
  return LOOPBACK.test(host.toLowerCase());
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function canonicalSecret(path: string, workspace: string, home: string): string {
  const clean = trimSlash(path);
  if (clean === workspace) return '.';
  if (clean.startsWith(`${workspace}/`)) return `.${clean.slice(workspace.length)}`;
  if (clean.startsWith('/')) {
    if (clean === home || clean.startsWith(`${home}/`)) return `~${clean.slice(home.length)}`;
    return clean;
  }
  if (clean.startsWith('~')) return clean;
  return `./${clean.replace(/^\.\//, '')}`;
}

/** A host entry without its port, as a case-insensitive glob over host names. */
function hostGlob(entry: string): RegExp {
  const host = entry.replace(/:\d+$/, '').toLowerCase();
  return globToRegExp(tokenizeGlob(host));
}

export function compileCapabilities(capabilities: SessionCapabilities): CompiledCapabilities {
  const { network } = capabilities;
  const registries = new Set<string>();
  const hostRules: RegExp[] = [];
  for (const entry of network.allow) {
    const registry = /^registry:(.+)$/.exec(entry);
    if (registry) {
      const name = registry[1] as string;
      registries.add(name);
      // A granted registry grants the hosts the machine uses for it.
      for (const host of network.registryNames[name] ?? []) hostRules.push(hostGlob(host));
    } else hostRules.push(hostGlob(entry));
  }
  // A registry counts as granted when every host it uses is granted by name.
  for (const [name, hosts] of Object.entries(network.registryNames)) {
    if (hosts.length > 0 && hosts.every((h) => hostRules.some((r) => r.test(h.replace(/:\d+$/, '')))))
      registries.add(name);
  }
  const workspace = trimSlash(capabilities.workspace);
  const home = trimSlash(capabilities.home);
  return Object.freeze({
    source: capabilities,
    sandboxed: capabilities.driver !== 'none',
    networkMode: network.mode,
    hostRules,
    registries,
    secretEnv: new Set(capabilities.secrets.envNames),
    placeholderEnv: new Set(capabilities.secrets.placeholders ?? []),
    secretFiles: capabilities.secrets.files.map((f) => canonicalSecret(f, workspace, home)),
    writableRoots: capabilities.writableRoots.map(trimSlash),
    workspace,
    home,
  });
}

export type NetReach = 'loopback' | 'granted' | 'grantable' | 'unreachable';

/** Where a connection to `host` ends up in this session (`null`: a host only known at run time). */
export function netReach(host: string | null, caps: CompiledCapabilities): NetReach {
  if (host !== null) {
    if (isLoopback(host)) return 'loopback';
    const registry = /^registry:(.+)$/.exec(host);
    if (registry ? caps.registries.has(registry[1] as string) : caps.hostRules.some((r) => r.test(host)))
      return 'granted';
  }
  // Only a person can widen the network, and only in `ask` mode; otherwise asking cannot help.
  return caps.networkMode === 'ask' ? 'grantable' : 'unreachable';
}

/**
 * The absolute directory a canonical path pattern starts in, up to its first wildcard (`./src/*.ts`
 * → `/workspace/src`), or `null` when it cannot be known.
 */
export function absoluteBase(pattern: string | null, caps: CompiledCapabilities): string | null {
  if (pattern === null) return null;
  let absolute: string;
  if (pattern === '.' || pattern.startsWith('./')) absolute = caps.workspace + pattern.slice(1);
  else if (pattern === '~' || pattern.startsWith('~/')) absolute = caps.home + pattern.slice(1);
  else if (pattern === '..' || pattern.startsWith('../')) {
    const up = pattern.split('/').filter((s) => s === '..').length;
    const parts = caps.workspace.split('/').slice(0, Math.max(1, caps.workspace.split('/').length - up));
    absolute = `${parts.join('/') || '/'}/${pattern
      .split('/')
      .filter((s) => s !== '..')
      .join('/')}`;
  } else if (pattern.startsWith('/')) absolute = pattern;
  else return null;
  // Cut at the first segment with a wildcard: the base directory is what is certain.
  const segments: string[] = [];
  for (const segment of absolute.split('/')) {
    if (/(?<!\\)[*?[]/.test(segment)) break;
    segments.push(segment.replace(/\\(.)/g, '$1'));
  }
  return trimSlash(segments.join('/') || '/');
}

/** Devices every sandbox may write: discarding output, its own streams and shared memory. */
const WRITABLE_DEVICES = /^\/dev\/(null|zero|stdout|stderr|tty|fd(\/\d+)?|shm(\/.*)?)$/;

export function isWritable(pattern: string | null, caps: CompiledCapabilities): boolean {
  const base = absoluteBase(pattern, caps);
  if (base === null) return false;
  if (WRITABLE_DEVICES.test(base)) return true;
  return caps.writableRoots.some((root) => base === root || base.startsWith(root === '/' ? '/' : `${root}/`));
}

/*
 * Security limitations
 * - Ports in allow entries are not compared: the policy judges host names, the egress proxy enforces
 *   ports. A connection to a granted host on another port is allowed here and refused there.
 * - "Writable" is decided on the certain prefix of a path: `/tmp/../etc` is canonicalised by the shell
 *   stage before it gets here, but a symlink created earlier is not seen (the sandbox still refuses).
 */
