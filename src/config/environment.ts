/**
 * The host environment variables Airlock itself reads. This is the only place in src/ that touches
 * process.env; everything else receives an `EnvironmentVariables` value, so tests pass their own and two
 * instances in one process can see different environments.
 */
import { isAbsolute, join, normalize } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import { parseStoreLocation, redactStoreUrl, type StoreLocation } from './fields.ts';

export type EnvironmentVariables = Readonly<Record<string, string | undefined>>;

export interface AirlockEnvironment {
  /** State directory: store, tokens, outputs. `AIRLOCK_HOME`, else `$HOME/.local/state/airlock`. */
  readonly home: string;
  /** `AIRLOCK_TOKEN`: the admin bearer token to use instead of a generated one. */
  readonly adminToken?: string;
  /** `AIRLOCK_STORE`: the store to use instead of airlock.yaml's `store:` (a deployment sets it). */
  readonly store?: StoreLocation;
}

/** A snapshot of process.env, frozen, so later changes to the process environment do not leak in mid-run. */
export function processEnvironment(): EnvironmentVariables {
  return Object.freeze({ ...process.env });
}

/** Printable ASCII without spaces: the token travels in an `Authorization` header. */
const TOKEN = /^[\x21-\x7e]+$/;

export function readAirlockEnvironment(env: EnvironmentVariables): AirlockEnvironment {
  const home = stateDirectory(env);
  const store = storeFromEnvironment(env);
  const withStore = store === undefined ? { home } : { home, store };
  // An empty AIRLOCK_TOKEN (`AIRLOCK_TOKEN= airlock serve`) means unset: the generated token is used.
  const token = env['AIRLOCK_TOKEN'];
  if (token === undefined || token === '') return Object.freeze(withStore);
  if (!TOKEN.test(token)) {
    throw new AirlockError(
      'INVALID_CONFIG',
      'AIRLOCK_TOKEN contains spaces or control characters; use printable characters only',
      { variable: 'AIRLOCK_TOKEN' },
    );
  }
  return Object.freeze({ ...withStore, adminToken: token });
}

/** AIRLOCK_STORE, parsed like `store:` in airlock.yaml; empty means unset. */
export function storeFromEnvironment(env: EnvironmentVariables): StoreLocation | undefined {
  const text = env['AIRLOCK_STORE'];
  if (text === undefined || text === '') return undefined;
  const location = parseStoreLocation(text);
  if (typeof location === 'string') {
    throw new AirlockError('INVALID_CONFIG', `AIRLOCK_STORE: ${location}`, {
      variable: 'AIRLOCK_STORE',
      value: redactStoreUrl(text),
    });
  }
  return location;
}

function stateDirectory(env: EnvironmentVariables): string {
  const explicit = env['AIRLOCK_HOME'];
  if (explicit !== undefined && explicit !== '') {
    // A relative state directory would move with the working directory, splitting the audit log.
    if (!isAbsolute(explicit) || explicit.includes('\0')) {
      throw new AirlockError(
        'INVALID_CONFIG',
        `AIRLOCK_HOME ${JSON.stringify(explicit)} is not an absolute path, like /var/lib/airlock`,
        { variable: 'AIRLOCK_HOME', value: explicit },
      );
    }
    return normalize(explicit);
  }
  const userHome = env['HOME'];
  // Without HOME there is no safe default; guessing `/.local/state` or the cwd would scatter state.
  if (userHome === undefined || userHome === '' || !isAbsolute(userHome) || userHome.includes('\0')) {
    throw new AirlockError(
      'INVALID_CONFIG',
      'cannot choose a state directory: set AIRLOCK_HOME (or HOME) to an absolute path',
      { variable: 'HOME', ...(userHome === undefined ? {} : { value: userHome }) },
    );
  }
  return join(userHome, '.local', 'state', 'airlock');
}

/**
 * The store a run uses: AIRLOCK_STORE, else airlock.yaml's `store:`, else the state directory's own
 * SQLite file. The environment wins because it is how a deployment (a container, a unit file) points
 * the same configuration at its database.
 */
export function storeLocationFor(
  configured: StoreLocation | undefined,
  environment: Pick<AirlockEnvironment, 'home' | 'store'>,
): StoreLocation {
  return environment.store ?? configured ?? { kind: 'sqlite', path: join(environment.home, 'airlock.db') };
}
