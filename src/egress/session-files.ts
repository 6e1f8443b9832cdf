/**
 * A session's files beside its socket: the socket itself, the CA certificate and bundle the bridge
 * mounts into the sandbox, and (0600) what a restarted proxy needs to keep serving the same sandbox:
 * the CA key and the seed its placeholders derive from. Session ids are held to a safe alphabet, so a
 * path built from one cannot leave the directory.
 */
import { createConnection } from 'node:net';
import { chmod, lstat, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirlockError } from '../errors/index.ts';
import type { CaMaterial } from './ca.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** sun_path is 108 bytes with its NUL on Linux. */
const MAX_SOCKET_PATH_BYTES = 107;

export interface SessionPaths {
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
  const socket = join(directory, `${sessionId}.sock`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH_BYTES) {
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `the egress socket path ${socket} is longer than ${MAX_SOCKET_PATH_BYTES} bytes, the most a Unix socket path can be: use a shorter state directory`,
      { path: socket },
    );
  }
  return {
    socket,
    caCertificate: join(directory, `${sessionId}.ca.pem`),
    caBundle: join(directory, `${sessionId}.ca-bundle.pem`),
    privateState: join(directory, `${sessionId}.private.json`),
  };
}

export async function prepareDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: 0o700 });
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
  await Promise.all(Object.values(paths).map((path: string) => rm(path, { force: true })));
}
