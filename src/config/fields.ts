/**
 * Field-level rules shared by the airlock.yaml schema and the CLI flag overrides, so `memory: lots` in a
 * file and `--memory lots` on the command line are refused by the same code with the same words.
 * Checkers return a problem sentence (or undefined) instead of throwing, so the schema can report every
 * bad value at once and the flag path can name the flag.
 */
import { isImageReference } from '../sandbox/index.ts';
import { parseByteSize, parseCount, parseCpus, parseDuration, type ParseOptions } from './units.ts';

export const driverNames = ['bwrap', 'gvisor', 'docker'] as const;
export type DriverName = (typeof driverNames)[number];

/**
 * Below this, a shell and a small command cannot start, and the failure shows up as an OOM kill that
 * looks like the command's own fault.
 */
export const MIN_MEMORY_BYTES = 4 * 1024 ** 2;

/** The kernel's PID_MAX_LIMIT: no pids.max above it means anything. */
export const MAX_PIDS = 4_194_304;

/** Linux refuses to exec with one environment string over MAX_ARG_STRLEN (32 pages = 128 KiB). */
export const MAX_ENV_ENTRY_BYTES = 128 * 1024;

type Value = string | number;

const labelled = (label: string | undefined): ParseOptions => ({ label });

/** One parser per numeric sandbox key; the optional label names a flag in messages. */
export const sandboxValueParsers = {
  memory: (value: Value, label?: string) =>
    parseByteSize(value, { ...labelled(label), min: MIN_MEMORY_BYTES }),
  scratch: (value: Value, label?: string) => parseByteSize(value, labelled(label)),
  cpus: (value: Value, label?: string) => parseCpus(value, labelled(label)),
  pids: (value: Value, label?: string) => parseCount(value, { ...labelled(label), max: MAX_PIDS }),
  timeout: (value: Value, label?: string) => parseDuration(value, labelled(label)),
  idleTimeout: (value: Value, label?: string) => parseDuration(value, labelled(label)),
  maxTimeout: (value: Value, label?: string) => parseDuration(value, labelled(label)),
} as const;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function envNameProblem(name: string): string | undefined {
  if (!ENV_NAME.test(name)) {
    return `${JSON.stringify(name)} is not a variable name: use letters, digits and _, not starting with a digit, like MY_VAR`;
  }
  // Plain objects treat this key as the prototype; refusing it beats silently dropping the variable.
  if (name === '__proto__') return `"__proto__" cannot be used as a variable name`;
  return undefined;
}

export function envValueProblem(name: string, value: string): string | undefined {
  // A NUL ends a C string: the process would see a shorter value than the config says.
  if (value.includes('\0'))
    return `the value of ${name} contains a NUL character, which no process can receive`;
  if (Buffer.byteLength(`${name}=${value}`, 'utf8') >= MAX_ENV_ENTRY_BYTES) {
    return `${name}=… is longer than ${MAX_ENV_ENTRY_BYTES} bytes, the most one variable can carry into a process`;
  }
  return undefined;
}

// eslint-disable-next-line no-control-regex -- control characters are exactly what this rejects
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export function imageProblem(image: string, driver: DriverName): string | undefined {
  if (image === '') return 'the image is empty: use host, a rootfs directory, or (docker) an image name';
  if (CONTROL_CHARACTERS.test(image)) return 'the image name contains control characters';
  if (driver === 'docker' && !image.startsWith('/')) {
    return isImageReference(image)
      ? undefined
      : `${JSON.stringify(image)} is not a Docker image reference, like python:3.12-slim`;
  }
  if (image === 'host') return undefined;
  // A relative rootfs would change with the directory Airlock is started from.
  if (!image.startsWith('/') || image.split('/').includes('..')) {
    return `${JSON.stringify(image)} is not usable with ${driver}: use host or an absolute rootfs directory like /srv/rootfs`;
  }
  return undefined;
}

const CGROUP_PATH = /^\/?[A-Za-z0-9_.@:-]+(?:\/[A-Za-z0-9_.@:-]+)*$/;

export function cgroupParentProblem(path: string): string | undefined {
  const segments = path.split('/');
  if (!CGROUP_PATH.test(path) || segments.includes('..') || segments.includes('.')) {
    return `${JSON.stringify(path)} is not a cgroup path: use a path like airlock.slice or /user.slice/airlock`;
  }
  return undefined;
}

export type StoreLocation =
  | {
      readonly kind: 'sqlite';
      /** As written: relative paths are relative to the directory Airlock runs in. `:memory:` is in-memory. */
      readonly path: string;
    }
  | {
      readonly kind: 'postgres';
      /** A `postgres://` or `postgresql://` connection URL, as written (it may hold a password). */
      readonly url: string;
    };

const STORE_EXAMPLES = 'sqlite:<path>, like sqlite:.airlock/airlock.db, or postgres://user@host:5432/db';

export function parseStoreLocation(text: string): StoreLocation | string {
  if (text.startsWith('postgres://') || text.startsWith('postgresql://')) return parsePostgresUrl(text);
  const prefix = 'sqlite:';
  if (!text.startsWith(prefix)) {
    return `${JSON.stringify(redactStoreUrl(text))} is not a store: use ${STORE_EXAMPLES}`;
  }
  const path = text.slice(prefix.length);
  if (path === '' || CONTROL_CHARACTERS.test(path)) {
    return `${JSON.stringify(text)} has no usable path after sqlite:, like sqlite:.airlock/airlock.db`;
  }
  return { kind: 'sqlite', path };
}

function parsePostgresUrl(text: string): StoreLocation | string {
  const shown = JSON.stringify(redactStoreUrl(text));
  if (CONTROL_CHARACTERS.test(text)) return `${shown} contains control characters`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `${shown} is not a URL: use postgres://user@host:5432/database`;
  }
  // A database name is what keeps two deployments on one server apart; guessing one would mix them.
  if (url.pathname === '' || url.pathname === '/') {
    return `${shown} names no database: add one, like postgres://user@host:5432/airlock`;
  }
  if (url.hash !== '') return `${shown} has a #fragment, which a database URL does not take`;
  return { kind: 'postgres', url: text };
}

/** A store location for messages and logs: a URL's password replaced by `***`. */
export function redactStoreUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password === '') return text;
    url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: a password cannot be told apart, so nothing after the scheme is shown.
    return /^postgres(ql)?:/.test(text) ? `${text.slice(0, text.indexOf(':') + 1)}//…` : text;
  }
}

/** How a store is named to people: the path, or the URL without its password. */
export function describeStoreLocation(location: StoreLocation): string {
  return location.kind === 'sqlite' ? `sqlite:${location.path}` : redactStoreUrl(location.url);
}

// Security limitations:
// - These checks are syntax and range only. A host pattern that passes is not resolved or verified, and
//   nothing here enforces a limit: the sandbox driver must apply every value or refuse to start.
// - A Docker image reference is checked for shape, not provenance; `host` with the docker driver is
//   passed through for the driver to interpret.
// - Env values may hold secrets; they are kept verbatim (never logged here) and reach every command in
//   the sandbox.
