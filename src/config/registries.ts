/**
 * Where `registry:npm` and `registry:pypi` lead: the registries the host's own package managers are
 * configured to use, asked from the tools themselves (never a host name written here), so an allow-list
 * entry follows a company mirror as readily as the public default.
 */
import { execFile } from 'node:child_process';
import type { EnvironmentVariables } from './environment.ts';

export type RegistryName = 'npm' | 'pypi';

export interface RegistryLocation {
  readonly host: string;
  readonly port: number;
}

/** Runs a program (argv, no shell) and gives its exit code and standard output. */
export type ProgramRunner = (
  file: string,
  args: readonly string[],
  env: EnvironmentVariables,
) => Promise<{ readonly code: number; readonly stdout: string }>;

export interface RegistryResolverOptions {
  readonly env: EnvironmentVariables;
  readonly run?: ProgramRunner;
}

/** A package manager that does not answer in this long is treated as not configured. */
const RUN_TIMEOUT_MS = 15_000;
const MAX_OUTPUT_BYTES = 256 * 1024;

/**
 * Only what the tools need to find their configuration: the host's other variables (tokens among
 * them) are not handed to a child process that does not need them.
 */
function toolEnvironment(env: EnvironmentVariables): Record<string, string> {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (
      [
        'PATH',
        'HOME',
        'USER',
        'XDG_CONFIG_HOME',
        'APPDATA',
        'VIRTUAL_ENV',
        'PYENV_ROOT',
        'PYENV_VERSION',
      ].includes(name) ||
      /^(npm_config_|NPM_CONFIG_|PIP_)/.test(name)
    ) {
      kept[name] = value;
    }
  }
  return kept;
}

export const defaultRunner: ProgramRunner = (file, args, env) =>
  new Promise((resolve) => {
    execFile(
      file,
      [...args],
      {
        env: toolEnvironment(env),
        shell: false,
        timeout: RUN_TIMEOUT_MS,
        maxBuffer: MAX_OUTPUT_BYTES,
        windowsHide: true,
      },
      (error, stdout) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 127;
        resolve({ code, stdout: String(stdout) });
      },
    );
  });

/** host and port of an http(s) URL; undefined for anything else (file://, a bare path, junk). */
export function locationOf(url: string): RegistryLocation | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url.trim());
  } catch {
    return undefined;
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return undefined;
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (host === '') return undefined;
  return {
    host: host.toLowerCase(),
    port: parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port),
  };
}

function unique(locations: readonly (RegistryLocation | undefined)[]): RegistryLocation[] {
  const seen = new Map<string, RegistryLocation>();
  for (const location of locations)
    if (location !== undefined) seen.set(`${location.host}:${location.port}`, location);
  return [...seen.values()];
}

/** `pip config list` lines: `global.index-url='https://…'`, `:env:.extra-index-url='a b'`. */
export function pipConfigUrls(listing: string): { index: string[]; extra: string[] } {
  const index: string[] = [];
  const extra: string[] = [];
  for (const line of listing.split('\n')) {
    const match = /^[^=]*\.(index-url|extra-index-url)='(.*)'\s*$/.exec(line.trim());
    if (match === null) continue;
    const urls = match[2]!.split(/\s+/).filter((url) => url !== '');
    (match[1] === 'index-url' ? index : extra).push(...urls);
  }
  return { index, extra };
}

/** pip's built-in index and file host, read from the installed pip (the names live in its code). */
const PIP_DEFAULTS_SCRIPT =
  'from pip._internal.models.index import PyPI; print(PyPI.simple_url); print("https://" + PyPI.file_storage_domain + "/")';

export function createRegistryResolver(
  options: RegistryResolverOptions,
): (registry: RegistryName) => Promise<readonly RegistryLocation[]> {
  const run = options.run ?? defaultRunner;
  const env = options.env;

  async function npm(): Promise<readonly RegistryLocation[]> {
    const fromEnv = env['npm_config_registry'] ?? env['NPM_CONFIG_REGISTRY'];
    if (fromEnv !== undefined && fromEnv !== '') return unique([locationOf(fromEnv)]);
    const answer = await run('npm', ['config', 'get', 'registry'], env);
    if (answer.code !== 0) throw new Error('`npm config get registry` failed: is npm installed?');
    const location = locationOf(answer.stdout);
    if (location === undefined)
      throw new Error(`npm names no http(s) registry (${JSON.stringify(answer.stdout.trim()).slice(0, 80)})`);
    return [location];
  }

  async function pypi(): Promise<readonly RegistryLocation[]> {
    // pip reads PIP_INDEX_URL / PIP_EXTRA_INDEX_URL before its files; so does this.
    const envIndex = env['PIP_INDEX_URL'];
    const envExtra = (env['PIP_EXTRA_INDEX_URL'] ?? '').split(/\s+/).filter((url) => url !== '');
    const listed = await run('pip', ['config', 'list'], env);
    const files = listed.code === 0 ? pipConfigUrls(listed.stdout) : { index: [], extra: [] };
    const index = envIndex !== undefined && envIndex !== '' ? [envIndex] : files.index;
    let locations = unique([...index, ...envExtra, ...files.extra].map(locationOf));
    if (index.length === 0) {
      const defaults = await run('python3', ['-c', PIP_DEFAULTS_SCRIPT], env);
      if (defaults.code === 0)
        locations = unique([...defaults.stdout.split('\n').map(locationOf), ...locations]);
    }
    if (locations.length === 0)
      throw new Error('pip names no http(s) index: set index-url with `pip config set global.index-url URL`');
    return locations;
  }

  return (registry) => (registry === 'npm' ? npm() : pypi());
}
