/**
 * A session's files. Its own directory holds what its sandbox sees (the directory is mounted into it
 * read-only): the socket, and with secrets the CA certificate and the bundle that includes it. Beside
 * that directory, never inside it, is (0600) what a restarted proxy needs to keep serving the same
 * sandbox: the CA key and the seed its placeholders derive from. Session ids are held to a safe
 * alphabet, so a path built from one cannot leave the directory.
 *
 * Who may reach a session's socket is decided by its directory: made 0700 (this user's only), and
 * opened by the sandbox driver to the session's own gid when the sandbox runs as a host uid of its own
 * (the sandbox stage's grantEgressAccess). The proxy's directory lets others pass through (0711) but
 * not list; the socket itself is 0666, gated by its directory. A restarted proxy reuses the session
 * directory as it is (the sandbox has that very directory mounted, with the access it was given) and
 * makes the socket again inside it.
 */
import { createConnection } from 'node:net';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import type { CaMaterial } from './ca.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** sun_path is 108 bytes with its NUL on Linux. */
const MAX_SOCKET_PATH_BYTES = 107;

/** File names inside a session's directory, as the sandbox sees them too. */
export const SESSION_FILES = Object.freeze({
  socket: 'proxy.sock',
  caCertificate: 'ca.pem',
  caBundle: 'ca-bundle.pem',
});

export interface SessionPaths {
  /** Mounted into the sandbox: only what the sandbox may see. */
  readonly sessionDir: string;
  readonly socket: string;
  readonly caCertificate: string;
  readonly caBundle: string;
  readonly privateState: string;
}

export interface PrivateState {
  /** Placeholders are derived from it, so a restarted proxy recognises the ones the sandbox holds. */
  readonly placeholderSeed: string;
  readonly ca?: CaMaterial;
}

export function sessionPaths(directory: string, sessionId: string): SessionPaths {
  if (!SESSION_ID.test(sessionId)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `${JSON.stringify(sessionId).slice(0, 80)} is not a session id the egress proxy accepts (letters, digits, _ and -, at most 64)`,
      {},
    );
  }
  const sessionDir = join(directory, sessionId);
  const socket = join(sessionDir, SESSION_FILES.socket);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `the egress socket path ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the most a Unix socket path can be: use a shorter state directory`,
      { path: socket },
    );
  }
  return {
    sessionDir,
    socket,
    caCertificate: join(sessionDir, SESSION_FILES.caCertificate),
    caBundle: join(sessionDir, SESSION_FILES.caBundle),
    privateState: join(directory, `${sessionId}.private.json`),
  };
}

/**
 * The proxy's directory, 0711 and ours: others may pass through to a session directory they were let
 * into, never list or change it. One that is a symlink or belongs to someone else is refused, never
 * used.
 */
export async function prepareDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o711 });
  const stats = await lstat(directory);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `the egress directory ${directory} is not a directory of this user (a symlink, or someone else's): remove it or choose another`,
      { path: directory },
    );
  }
  if ((stats.mode & 0o777) !== 0o711) await chmod(directory, 0o711);
}

/**
 * A session's directory: made 0700 once, then kept as it is (a live sandbox may have it mounted, with
 * the group access its driver gave it).
 */
export async function prepareSessionDirectory(paths: SessionPaths): Promise<void> {
  await mkdir(paths.sessionDir, { mode: 0o700 }).catch((error: unknown) => {
    if ((error as { code?: string }).code !== 'EEXIST') throw error;
  });
  const stats = await lstat(paths.sessionDir);
  const uid = process.getuid?.();
  if (!stats.isDirectory() || (uid !== undefined && stats.uid !== uid)) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `${paths.sessionDir} exists and is not a directory of this user; refusing to use it`,
      { path: paths.sessionDir },
    );
  }
}

/**
 * Clears a socket left by a proxy that died; refuses when a live proxy still answers on it, since two
 * proxies on one session would each see half its connections.
 */
export async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = await lstat(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return;
    throw error;
  }
  if (!stats.isSocket()) {
    throw new AirlockError('INVALID_ARGUMENT', `${path} exists and is not a socket; refusing to replace it`, {
      path,
    });
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new AirlockError('INVALID_ARGUMENT', `another egress proxy is serving ${path}`, { path });
  }
  await rm(path, { force: true });
}

export async function readPrivateState(path: string): Promise<PrivateState | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<PrivateState>;
  if (typeof parsed.placeholderSeed !== 'string') return undefined;
  return parsed as PrivateState;
}

export async function writePrivateState(path: string, state: PrivateState): Promise<void> {
  await writeFile(path, JSON.stringify(state), { mode: 0o600 });
  await chmod(path, 0o600);
}

export async function writePublicFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o644 });
}

export async function removeSessionFiles(paths: SessionPaths): Promise<void> {
  await rm(paths.sessionDir, { recursive: true, force: true });
  await rm(paths.privateState, { force: true });
}
